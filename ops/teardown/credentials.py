"""One named credential source per account for a teardown across accounts, checked first.

``--credentials NAME=SOURCE`` (NAME: tooling, staging or production; SOURCE: ``profile:P``, an
AWS CLI profile, or ``role:ARN``, a role assumed from the default credentials). Tooling
defaults to the default credentials; a target account without a source is a usage error
before anything is listed. Each session is checked with ``sts:GetCallerIdentity`` (it needs
no permission: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html)
before anything else: a source that resolves to another account stops the run with nothing
listed or deleted. An assumed role's credentials refresh themselves (botocore's
``AssumeRoleCredentialFetcher``), since waiting out stack deletions can outlast the role
session's default hour (AssumeRole ``DurationSeconds``, default 3600).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.accounts import ACCOUNT_NAMES, named_accounts
from ops.errors import NO_CREDENTIALS, UsageError
from ops.teardown.residue import Clients, _error_code

if TYPE_CHECKING:
    from core.config import PlatformConfig

ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]+$")
SESSION_NAME = "labctl-teardown"
FLAG = "--credentials"


@dataclass(frozen=True)
class Source:
    kind: str  # "default", "profile" or "role"
    value: str = ""

    def __str__(self) -> str:
        return "the default credentials" if self.kind == "default" else f"{self.kind} {self.value}"


def parse_sources(specs: Sequence[str]) -> dict[str, Source]:
    """``NAME=profile:P`` / ``NAME=role:ARN`` -> {name: Source}; UsageError otherwise."""
    sources: dict[str, Source] = {}
    for spec in specs:
        name, eq, rest = spec.partition("=")
        kind, colon, value = rest.partition(":")
        if not eq or name not in ACCOUNT_NAMES:
            raise UsageError(
                f"{FLAG} {spec}: expected NAME=profile:PROFILE or NAME=role:ARN with NAME one "
                f"of {', '.join(ACCOUNT_NAMES)}"
            )
        if kind not in ("profile", "role") or not colon or not value:
            raise UsageError(
                f"{FLAG} {spec}: the source is profile:PROFILE (an AWS CLI profile) or role:ARN "
                "(a role assumed with the default credentials)"
            )
        if kind == "role" and not ROLE_ARN.match(value):
            raise UsageError(f"{FLAG} {spec}: {value} is not an IAM role ARN")
        if name in sources:
            raise UsageError(f"{FLAG} names {name} twice: give one source per account")
        sources[name] = Source(kind, value)
    return sources


@dataclass(frozen=True)
class Access:
    """One account of the copy, the names it serves as and the source of its credentials."""

    names: tuple[str, ...]  # ("production",), or ("staging", "production") when shared
    account: str
    source: Source

    @property
    def label(self) -> str:
        return f"{'+'.join(self.names)} {self.account}"

    @property
    def flag(self) -> str:
        return f"{FLAG} {self.names[0]}"


def account_access(
    config: PlatformConfig, sources: dict[str, Source], offline: bool = False
) -> list[Access]:
    """Every account of the copy with its source, in teardown order: the target accounts
    first, tooling last. UsageError, before any call, for a target account without a source
    (unless ``offline``: the plan only names the accounts), two different sources for one
    account, a role in another account than the one it is given for, or a name the profile
    has no separate account for."""
    accounts = named_accounts(config)
    if not config.multi_account:
        extra = sorted(set(sources) - {"tooling"})
        if extra:
            raise UsageError(
                f"{FLAG} {extra[0]}=...: profile {config.env_name} keeps everything in one "
                f"account ({config.account}); give only {FLAG} tooling=..."
            )
    grouped: dict[str, list[str]] = {}
    for name in ("staging", "production") if config.multi_account else ():
        grouped.setdefault(accounts[name], []).append(name)
    found = []
    for account, names in grouped.items():
        given = {sources[n] for n in names if n in sources} or (
            {Source("default")} if offline else set()
        )
        if not given:
            name = names[0]
            raise UsageError(
                f"no credentials for the {' and '.join(names)} account {account}: pass "
                f"{FLAG} {name}=profile:PROFILE or {name}=role:ARN (nothing is listed or "
                "deleted until every account has a source)"
            )
        if len(given) > 1:
            raise UsageError(
                f"{FLAG}: staging and production share account {account}; give it one source"
            )
        found.append(Access(tuple(names), account, given.pop()))
    found.append(
        Access(("tooling",), config.tooling_account, sources.get("tooling", Source("default")))
    )
    for access in found:
        match = ROLE_ARN.match(access.source.value) if access.source.kind == "role" else None
        if match and match.group(1) != access.account:
            raise UsageError(
                f"{access.flag}=role:{access.source.value}: the role is in "
                f"account {match.group(1)}, not {access.label}"
            )
    return found


def session_for(source: Source, region: str) -> Any:
    """A boto3 session with ``source``'s credentials (UsageError for an unknown profile)."""
    import boto3
    import botocore.session
    from botocore.credentials import (
        AssumeRoleCredentialFetcher,
        CredentialProvider,
        CredentialResolver,
        DeferredRefreshableCredentials,
    )
    from botocore.exceptions import ProfileNotFound

    if source.kind == "profile":
        try:
            return boto3.Session(profile_name=source.value, region_name=region)
        except ProfileNotFound as err:
            raise UsageError(
                f"profile {source.value} is not in the AWS config (aws configure list-profiles)"
            ) from err
    if source.kind == "default":
        return boto3.Session(region_name=region)
    base = boto3.Session(region_name=region)
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=base._session.create_client,
        source_credentials=base.get_credentials(),
        role_arn=source.value,
        extra_args={"RoleSessionName": SESSION_NAME},
    )

    class AssumedRole(CredentialProvider):  # type: ignore[misc]
        METHOD = "assume-role"

        def load(self) -> Any:
            return DeferredRefreshableCredentials(fetcher.fetch_credentials, self.METHOD)

    core = botocore.session.Session()
    core.register_component("credential_provider", CredentialResolver([AssumedRole()]))
    return boto3.Session(botocore_session=core, region_name=region)


def verify_identity(access: Access, clients: Clients) -> None:
    """The session's account is the one it is given for, or UsageError naming both."""
    try:
        found = str(clients.sts.get_caller_identity()["Account"])
    except Exception as err:  # noqa: BLE001 - no credentials, a role it cannot assume, ...
        code = _error_code(err)
        hint = f": {NO_CREDENTIALS}" if code == "NoCredentialsError" else f" ({code})"
        raise UsageError(
            f"{access.label}: {access.source} gives no usable credentials{hint}; nothing was "
            "listed or deleted"
        ) from err
    if found != access.account:
        raise UsageError(
            f"{access.flag}: account {found} from {access.source}, not {access.label}; "
            "nothing was listed or deleted"
        )


def connect(
    config: PlatformConfig, access: list[Access], given: dict[str, Clients] | None = None
) -> dict[str, Clients]:
    """Clients per account (``given``: tests'), every identity verified before any is used."""
    found = {}
    for a in access:
        clients = (given or {}).get(a.account)
        if clients is None:
            try:
                clients = Clients(config.region, session=session_for(a.source, config.region))
            except UsageError as err:
                raise UsageError(f"{a.flag}: {err}") from err
        verify_identity(a, clients)
        found[a.account] = clients
    return found
