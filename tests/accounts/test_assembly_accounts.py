"""The rehearsal reads a multi-account copy from its cloud assembly folder (core.assembly):
each stack in the account its manifest environment names."""

from __future__ import annotations

from assurance.rehearsal.assembly import Assembly


def test_from_dir_puts_each_stack_in_the_account_the_profile_gives_it(multi) -> None:  # type: ignore[no-untyped-def]
    """Oracle: core.accounts.stack_accounts(config), the accounts the profile assigns (the
    rehearsal's in-memory callers pass it), and the CDK stacks' own accounts."""
    from core.accounts import stack_accounts

    config = multi.config
    assembly = Assembly.from_dir(multi.outdir, config.tooling_account, config.region)
    assert set(assembly.templates) == set(multi.templates)
    assert assembly.templates == multi.templates
    assert assembly.stack_accounts == multi.stack_accounts
    outside = {n: a for n, a in assembly.stack_accounts.items() if a != config.tooling_account}
    assert outside == stack_accounts(config) and outside  # staging, production, targets
    staging = config.stack_name("ServingStaging")
    assert assembly.account_of(staging) == config.staging_account != config.tooling_account
