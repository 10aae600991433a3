"""The README's three-account walkthrough runs offline, as shown (issue 25).

Each ``labctl`` line of the README's "Three accounts" block runs in-process without AWS
credentials. The synth line is the session's ``monitored`` fixture, which runs exactly that
command (into the test run's folder instead of ``cdk.out.multi``); the teardown plan reads
that synth's assembly as the README's ``--assembly cdk.out.multi`` does."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from labctl.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"
TOOLING, STAGING, PRODUCTION = "111111111111", "333333333333", "444444444444"


def _walkthrough() -> list[list[str]]:
    text = README.read_text()
    section = text.split("## Three accounts (offline first)", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", section, re.S)
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [shlex.split(line)[1:] for line in lines if line.startswith("labctl ")]


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))


def test_the_walkthrough_is_synth_cost_and_teardown_plan() -> None:
    assert [argv[0] for argv in _walkthrough()] == ["synth", "cost", "teardown"]


def test_the_synth_line_passes_the_gate_and_the_rehearsal(monitored) -> None:  # type: ignore[no-untyped-def]
    (synth,) = [a for a in _walkthrough() if a[0] == "synth"]
    i = synth.index("--outdir")
    assert synth[:i] + synth[i + 2 :] == ["synth", "--profile", "multi-account"] + [
        "--release",
        "example",
    ]
    assert monitored.exit_code == 0, monitored.output
    assert "compliance: 0 unacknowledged findings" in monitored.output
    assert re.search(r"rehearsal: .*; 0 findings, 0 known gaps", monitored.output)


def test_the_cost_line_prices_each_account_and_the_total(
    no_credentials: None, capsys: pytest.CaptureFixture[str]
) -> None:
    (cost,) = [a for a in _walkthrough() if a[0] == "cost"]
    assert main(cost) == 0
    out = capsys.readouterr().out
    total = float(re.search(r"\$([\d.]+)/month", out.splitlines()[0]).group(1))  # type: ignore[union-attr]
    parts = {
        account: float(m.group(1))
        for account in (TOOLING, STAGING, PRODUCTION)
        if (m := re.search(rf"\b\w+ {account}\s+[\d.]+\s+([\d.]+)", out))
    }
    assert set(parts) == {TOOLING, STAGING, PRODUCTION}, out
    assert sum(parts.values()) == pytest.approx(total, abs=0.05)


def test_the_teardown_line_plans_targets_first_and_tooling_last_offline(
    monitored,  # type: ignore[no-untyped-def]
    no_credentials: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (teardown,) = [a for a in _walkthrough() if a[0] == "teardown"]
    assert "--plan" in teardown
    argv = [str(monitored.outdir) if a == "cdk.out.multi" else a for a in teardown]
    assert main(argv) == 0
    out = capsys.readouterr().out
    placed = re.findall(r"^\s+\d+\. (\S+) in \w+ (\d{12}):", out, re.M)
    accounts = [account for _, account in placed]
    assert TOOLING in accounts and {STAGING, PRODUCTION} <= set(accounts), out
    first_tooling = accounts.index(TOOLING)
    assert set(accounts[:first_tooling]) == {STAGING, PRODUCTION}
    assert set(accounts[first_tooling:]) == {TOOLING}
    assert ("multi-Monitoring", PRODUCTION) in placed
