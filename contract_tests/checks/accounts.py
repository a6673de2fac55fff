"""Layer 3: what the server says about the caller and itself. Clients (and this suite) take the
caller's user id from `GET /api/admin/user` and the server's version and PAT feature flags from
`GET /api/admin/ui-config`, so both must describe the server truthfully: the user who owns the
PATs the token lists, the version in its two places, the flags as the PAT API behaves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from contract_tests.checks.properties import created
from contract_tests.context import (
    FAR,
    SHORT_EXPIRY,
    TIMESTAMP,
    Caller,
    Context,
    body_of,
    expect,
    expect_error,
    listed_pats,
)
from contract_tests.oracles import expiry_warnings, gravatar_url, timestamp
from contract_tests.registry import Layer, Need, check

USER = "/api/admin/user"
UI_CONFIG = "/api/admin/ui-config"
OPTIONAL_USER_KEYS = frozenset({"name", "email"})  # absent for a user without one
# Unleash's IAuthType: how the server lets people log in.
AUTHENTICATION_TYPES = frozenset({"open-source", "demo", "enterprise", "hosted", "custom", "none"})
ADMIN_TOKEN_USER_ID = -42  # Unleash's ADMIN_TOKEN_USER, the user an admin API token acts as


def _get(ctx: Context, path: str, token: str, check_name: str) -> tuple[httpx.Response, Any]:
    response = ctx.api.request("GET", path, token=token)
    expect(
        response.status_code == 200, check_name, f"{path} answered {response.status_code}", response
    )
    body = body_of(response)
    expect(isinstance(body, dict), check_name, f"{path} answered no JSON object", response)
    # Express's weak ETag: asked again with it, an unchanged answer is a bare 304.
    tag = response.headers.get("etag", "")
    again = ctx.api.request("GET", path, token=token, headers={"If-None-Match": tag})
    expect(
        tag.startswith('W/"') and again.status_code == 304 and not again.content,
        check_name,
        f"{path} with If-None-Match of its ETag {tag!r} answered {again.status_code}, not 304",
        again,
    )
    return response, body


def _in_order(keys: list[str], wanted: tuple[str, ...], optional: frozenset[str]) -> list[str]:
    """What is wrong with `keys` against `wanted` (in this relative order; `optional` ones may
    be absent; others may come between): the missing keys, or the order."""
    missing = [k for k in wanted if k not in keys and k not in optional]
    if missing:
        return [f"lacks {missing}"]
    present = [k for k in keys if k in wanted]
    order = [k for k in wanted if k in present]
    return [] if present == order else [f"keys in the order {present}, not {order}"]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _user_problems(user: dict, ctx: Context, caller: Caller) -> list[str]:
    problems = _in_order(list(user), ctx.expect.user_keys, OPTIONAL_USER_KEYS)
    extra = [k for k in user if k not in ctx.expect.user_keys]
    problems += [f"keys {extra} a PAT's user object has not"] if extra else []
    rules = {
        "isAPI is false (a person, not an API token)": user.get("isAPI", False) is False,
        "accountType names a user account": user.get("accountType") in ("User", "Service Account"),
        f"id is the caller's, {caller.user_id}": _is_int(user.get("id"))
        and user.get("id") == caller.user_id,
        "username is a non-empty string": isinstance(user.get("username"), str)
        and user["username"] != "",
        "name and email are non-empty strings when present": all(
            isinstance(user.get(k, "x"), str) and user.get(k, "x") != "" for k in ("name", "email")
        ),
        "imageUrl is the gravatar of the email, else username, else id": user.get("imageUrl")
        == gravatar_url(user),
        "seenAt is null or a timestamp": user.get("seenAt") is None
        or bool(TIMESTAMP.match(str(user.get("seenAt")))),
        "loginAttempts is a count": _is_int(user.get("loginAttempts"))
        and user["loginAttempts"] >= 0,
        "createdAt is a timestamp": bool(TIMESTAMP.match(str(user.get("createdAt")))),
    }
    return problems + [rule for rule, holds in rules.items() if not holds]


@check(Layer.PROPERTY)
def current_user_described(ctx: Context) -> None:
    """`GET /api/admin/user` with a PAT, raw or `Bearer`, answers the same user: the one who owns
    every PAT that token lists (their `userId`), with the version's keys in order, as Unleash
    writes them, `Cache-Control: no-store` and a weak ETag. (That the two tokens' users differ
    is the preflight's to refuse: the suite cannot run otherwise.)"""
    for caller in ctx.callers:
        response, body = _get(ctx, USER, caller.token, "current_user_described")
        keys = list(body)
        expect(
            keys == ["user", "permissions", "feedback", "splash"],
            "current_user_described",
            f"top-level keys {keys}",
            response,
        )
        user = body["user"]
        expect(isinstance(user, dict), "current_user_described", "`user` is no object", response)
        problems = _user_problems(user, ctx, caller)
        expect(not problems, "current_user_described", "; ".join(problems), response)
        permissions = body["permissions"]
        expect(
            isinstance(permissions, list)
            and all(
                isinstance(p, dict) and isinstance(p.get("permission"), str) for p in permissions
            )
            and isinstance(body["feedback"], list)
            and isinstance(body["splash"], dict),
            "current_user_described",
            "permissions are no list of {permission}, or feedback no list, or splash no object",
            response,
        )
        cache = response.headers.get("cache-control")
        expect(cache == "no-store", "current_user_described", f"Cache-Control {cache!r}", response)
        bearer = ctx.api.request("GET", USER, token=f"Bearer {caller.token}")
        if ctx.expect.bearer:
            expect(
                bearer.status_code == 200 and body_of(bearer) == body,
                "current_user_described",
                "the Bearer form of the PAT answers another user object",
                bearer,
            )
        else:  # the release reads no `Bearer` scheme: the header is no token it knows
            expect_error(bearer, ctx.expect.unknown_token, "current_user_described", "Bearer")
        listing, pats = listed_pats(ctx.api, caller.token, "current_user_described")
        owners = {p.get("userId") for p in pats}
        expect(
            owners == {user["id"]},
            "current_user_described",
            f"the token lists PATs of users {owners}, it is user {user['id']}",
            listing,
        )


@check(Layer.PROPERTY, Need.ADMIN_TOKEN)
def admin_token_described(ctx: Context) -> None:
    """`GET /api/admin/user` with an admin API token describes the token (Unleash 8.2.0 echoes
    its secret too; a server may leave that out): an `admin` token for every project and
    environment, acting as Unleash's admin token user (-42), with the ADMIN permission."""
    assert ctx.admin_token is not None  # Need.ADMIN_TOKEN
    response, body = _get(ctx, USER, ctx.admin_token, "admin_token_described")
    user = body.get("user")
    expect(isinstance(user, dict), "admin_token_described", "`user` is no object", response)
    values = {
        "permissions": ["ADMIN"],
        "environment": "*",
        "type": "admin",
        "projects": ["*"],
        "internalAdminTokenUserId": ADMIN_TOKEN_USER_ID,
    }
    # The release's keys, each with its value, and no other (`isAPI`, true here, exactly in
    # the releases whose user objects carry it).
    wanted = {k: v for k, v in values.items() if k in ctx.expect.admin_token_keys}
    wanted |= {k: None for k in values if k not in ctx.expect.admin_token_keys}
    wanted["isAPI"] = True if "isAPI" in ctx.expect.user_keys else None
    wrong = {k: user.get(k) for k, v in wanted.items() if user.get(k) != v}
    expect(not wrong, "admin_token_described", f"the token's user has {wrong}", response)
    named = "username" not in ctx.expect.admin_token_keys or isinstance(user.get("username"), str)
    expect(
        named and user.get("secret", ctx.admin_token) == ctx.admin_token,
        "admin_token_described",
        "no username, or a `secret` that is not the token's",
        response,
    )
    expect(
        body.get("permissions") == [{"permission": "ADMIN"}],
        "admin_token_described",
        f"permissions {body.get('permissions')!r}",
        response,
    )


def _types(config: dict) -> list[str]:
    """The ui-config values a client reads, each of its type."""
    kinds: dict[str, tuple[type, ...]] = {
        "environment": (str,),
        "flags": (dict,),
        "version": (str,),
        "emailEnabled": (bool,),
        "unleashUrl": (str,),
        "baseUriPath": (str,),
        "authenticationType": (str,),
        "segmentValuesLimit": (int,),
        "strategySegmentsLimit": (int,),
        "frontendApiOrigins": (list,),
        "versionInfo": (dict,),
        "prometheusAPIAvailable": (bool,),
        "disablePasswordAuth": (bool,),
        "maintenanceMode": (bool,),
        "maxSessionsCount": (int,),
    }
    return [
        f"{key} is {config[key]!r}"
        for key, kind in kinds.items()
        if key in config
        and (
            not isinstance(config[key], kind) or (kind == (int,) and isinstance(config[key], bool))
        )
    ]


@check(Layer.PROPERTY)
def ui_config_describes_the_server(ctx: Context) -> None:
    """`GET /api/admin/ui-config` sends the version's keys in order, each of its type; names one
    version in `version` and `versionInfo.current.oss`; says it is the latest unless a version
    check found a later one; says PATs are not switched off (the PAT list answers) and how
    people log in."""
    response, config = _get(ctx, UI_CONFIG, ctx.token, "ui_config_describes_the_server")
    problems = _in_order(list(config), ctx.expect.ui_config_keys, frozenset()) + _types(config)
    expect(not problems, "ui_config_describes_the_server", "; ".join(problems), response)
    info = config["versionInfo"]
    current, latest = info.get("current"), info.get("latest")
    rules = {
        "versionInfo.current is {oss: version, enterprise: a string}": isinstance(current, dict)
        and current.get("oss") == config["version"]
        and isinstance(current.get("enterprise"), str),
        "versionInfo.isLatest is true while no later version is known": isinstance(latest, dict)
        and info.get("isLatest") is (True if not latest else info.get("isLatest"))
        and isinstance(info.get("isLatest"), bool),
        "versionInfo.instanceId is a non-empty string": isinstance(info.get("instanceId"), str)
        and info["instanceId"] != "",
        f"flags {ctx.expect.ui_config_flags} are booleans": all(
            isinstance(config["flags"].get(f), bool) for f in ctx.expect.ui_config_flags
        ),
        "authenticationType is one of Unleash's": config["authenticationType"]
        in AUTHENTICATION_TYPES,
        "baseUriPath is empty or a path": config["baseUriPath"] in ("", "/")
        or (config["baseUriPath"].startswith("/") and not config["baseUriPath"].endswith("/")),
        "unleashUrl is an http(s) URL": config["unleashUrl"].startswith(("http://", "https://")),
        "frontendApiOrigins are `*` or http(s) URLs": all(
            o == "*" or (isinstance(o, str) and o.startswith(("http://", "https://")))
            for o in config["frontendApiOrigins"]
        ),
        "environment is `Open Source` exactly when no enterprise version runs": isinstance(
            current, dict
        )
        and (config["environment"] == "Open Source") == (current.get("enterprise") == ""),
        # Unleash counts sessions only behind its showUserDeviceCount flag.
        "maxSessionsCount is 0 unless flags.showUserDeviceCount": config.get("maxSessionsCount", 0)
        == 0
        or config["flags"].get("showUserDeviceCount") is True,
    }
    broken = [rule for rule, holds in rules.items() if not holds]
    expect(not broken, "ui_config_describes_the_server", "; ".join(broken), response)
    listing = ctx.api.list(ctx.token)
    expect(
        listing.status_code == 200 and config["flags"]["personalAccessTokensKillSwitch"] is False,
        "ui_config_describes_the_server",
        "flags.personalAccessTokensKillSwitch is not false while the PAT list answers "
        f"{listing.status_code}",
        response,
    )


def _warnings(pat: dict, now: datetime, margin: timedelta) -> set[str | None]:
    created = datetime.fromisoformat(pat["createdAt"])
    expires = datetime.fromisoformat(pat["expiresAt"])
    return expiry_warnings(created, expires, now - margin) | expiry_warnings(
        created, expires, now + margin
    )


def _warned_as_flagged(ctx: Context, flagged: bool, ids: set[int], why: str) -> None:
    """Every listed PAT's `expiryWarning`: none without the flag; with it, what Unleash's rule
    allows (checked exactly for the PATs of `ids`, whose lives the check knows)."""
    response, pats = listed_pats(ctx.api, ctx.token, "expiry_warnings_as_flagged")
    now = datetime.now(UTC)
    for pat in pats:
        got = pat.get("expiryWarning")
        if not flagged:
            allowed: set[str | None] = {None}
        elif pat.get("id") in ids:
            allowed = _warnings(pat, now, ctx.clock_margin)
        else:
            allowed = {None, "expires-soon", "expired"}
        expect(
            got in allowed,
            "expiry_warnings_as_flagged",
            f"{why}: PAT {pat.get('id')} (created {pat.get('createdAt')}, expires "
            f"{pat.get('expiresAt')}) has expiryWarning {got!r}, expected one of "
            f"{sorted(map(str, allowed))} (flags.tokenExpiryNotifications: {flagged})",
            response,
        )


@check(Layer.PROPERTY, Need.WRITE)
def expiry_warnings_as_flagged(ctx: Context) -> None:
    """Listed PATs carry `expiryWarning` only when ui-config's `flags.tokenExpiryNotifications`
    is on (8.1+), and then as Unleash's rule says: a PAT expiring within seconds (today, unless
    midnight falls between) `expires-soon`, then `expired`; one expiring in years, nothing. A
    server that just accepted a create says it is not in maintenance mode (which refuses
    writes with 503). It deletes its PATs."""
    soon = datetime.now(UTC) + SHORT_EXPIRY + 2 * ctx.clock_margin
    ids = {created(ctx, ctx.token, timestamp(soon)).id, created(ctx, ctx.token, FAR).id}
    response, config = _get(ctx, UI_CONFIG, ctx.token, "expiry_warnings_as_flagged")
    expect(
        config.get("maintenanceMode") is False,
        "ui_config_describes_the_server",
        "maintenanceMode is not false right after a create succeeded",
        response,
    )
    flags = config.get("flags")
    flagged = isinstance(flags, dict) and flags.get("tokenExpiryNotifications") is True
    _warned_as_flagged(ctx, flagged, ids, "before expiry")
    if flagged:  # the wait costs seconds; without the flag `expired` is no different
        ctx.budget.wait((soon + ctx.clock_margin - datetime.now(UTC)).total_seconds())
        _warned_as_flagged(ctx, flagged, ids, "after expiry")
    for pat_id in ids:  # room under the limit for the checks that follow
        ctx.api.delete(ctx.token, pat_id)
