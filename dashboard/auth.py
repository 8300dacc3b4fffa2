"""Who may open the dashboard: a shared password, OpenID Connect (``st.login``), or nobody but this machine.

Three ways to run the dashboard:

* **This machine only** (the default): the server binds to 127.0.0.1 and needs no
  login; anyone who can reach the port already has a shell on the machine.
* **Password**: ``CALLREVIEW_DASHBOARD_PASSWORD`` holds the password, or
  ``CALLREVIEW_DASHBOARD_PASSWORD_HASH`` a scrypt hash of it made by
  ``callreview hash-password`` (so the secret need not be stored in plain text).
  Every browser session shows a password form before any page; nothing from
  the catalog is read until the password is right. Wrong passwords cost a
  second each.
* **OpenID Connect**: an ``[auth]`` section in Streamlit's ``secrets.toml``
  (``redirect_uri``, ``cookie_secret`` and ``client_id``, ``client_secret``,
  ``server_metadata_url`` there or in named ``[auth.PROVIDER]`` sections); see
  :func:`oidc_providers`. Users sign in with ``st.login``; optionally only the
  e-mail addresses or domains listed in ``CALLREVIEW_DASHBOARD_ALLOWED_EMAILS``
  are let in.

:func:`check_exposure` is what ``callreview dashboard`` calls before starting
the server: binding to any address other than loopback is refused unless a
password or OIDC is configured. :func:`gate` is what every page run of the app
calls first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import os
import secrets as _secrets
import socket
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import DashboardAuthError, DashboardExposedError

log = logging.getLogger(__name__)

PASSWORD_ENV = "CALLREVIEW_DASHBOARD_PASSWORD"
"""Environment variable holding the dashboard password (plain text)."""

PASSWORD_HASH_ENV = "CALLREVIEW_DASHBOARD_PASSWORD_HASH"
"""Environment variable holding a hash of the password (``callreview hash-password``); wins over the plain one."""

ALLOWED_EMAILS_ENV = "CALLREVIEW_DASHBOARD_ALLOWED_EMAILS"
"""Comma-separated e-mail addresses (``ana@example.com``) or domains (``@example.com``) let in by OIDC; unset: anyone the provider signs in."""

HASH_SCHEME = "scrypt"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
FAILED_DELAY = 1.0
"""Seconds a wrong password costs (slows guessing)."""

OIDC_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
OIDC_SHARED_KEYS = ("redirect_uri", "cookie_secret")
SESSION_KEY = "_callreview_auth"
"""``st.session_state`` key set once a session has given the right password."""

JUST_SIGNED_IN = "_callreview_just_signed_in"
"""``st.session_state`` key set for the run right after signing in (the app then honours a deep link)."""

APP_DIR = Path(__file__).parent


# --------------------------------------------------------------------------------------
# Passwords
# --------------------------------------------------------------------------------------


def hash_password(password: str, salt: bytes | None = None) -> str:
    """A storable hash of ``password``: ``scrypt$N$r$p$SALT$HASH`` (base64), for ``CALLREVIEW_DASHBOARD_PASSWORD_HASH``.

    Parameters
    ----------
    password : str
        Must not be empty.
    salt : bytes, optional
        16 random bytes by default.

    Raises
    ------
    DashboardAuthError
        For an empty password.
    """
    if not password:
        raise DashboardAuthError("the password is empty; choose a password of at least 12 characters")
    salt = salt if salt is not None else _secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode("ascii")  # noqa: E731
    return f"{HASH_SCHEME}${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt)}${b64(digest)}"


def _parse_hash(text: str) -> tuple[int, int, int, bytes, bytes]:
    parts = text.strip().split("$")
    try:
        if len(parts) != 6 or parts[0] != HASH_SCHEME:
            raise ValueError
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = base64.b64decode(parts[4], validate=True), base64.b64decode(parts[5], validate=True)
        if n < 2 or n & (n - 1) or r < 1 or p < 1 or not salt or len(digest) < 16:
            raise ValueError
    except ValueError:
        raise DashboardAuthError(
            f"{PASSWORD_HASH_ENV} is not a callreview password hash (expected scrypt$N$r$p$SALT$HASH); "
            "make one with `callreview hash-password`"
        ) from None
    return n, r, p, salt, digest


@dataclass(frozen=True)
class PasswordCheck:
    """The configured password, plain or hashed (never logged or shown).

    Parameters
    ----------
    plain : str or None
        From :data:`PASSWORD_ENV`.
    hashed : str or None
        From :data:`PASSWORD_HASH_ENV`; used when both are set.
    """

    plain: str | None = field(default=None, repr=False)
    hashed: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.hashed:
            _parse_hash(self.hashed)

    def verify(self, attempt: str) -> bool:
        """Whether ``attempt`` is the password (constant-time comparison)."""
        attempt_b = (attempt or "").encode("utf-8")
        if self.hashed:
            n, r, p, salt, digest = _parse_hash(self.hashed)
            got = hashlib.scrypt(attempt_b, salt=salt, n=n, r=r, p=p, dklen=len(digest))
            return hmac.compare_digest(got, digest)
        if self.plain:
            return hmac.compare_digest(attempt_b, self.plain.encode("utf-8"))
        return False


def password_from_env(env: Mapping[str, str] | None = None) -> PasswordCheck | None:
    """The password configured in the environment, or None when there is none.

    Raises
    ------
    DashboardAuthError
        When :data:`PASSWORD_HASH_ENV` is set but malformed.
    """
    env = os.environ if env is None else env
    hashed = (env.get(PASSWORD_HASH_ENV) or "").strip() or None
    plain = env.get(PASSWORD_ENV) or None
    if not hashed and not plain:
        return None
    return PasswordCheck(plain=plain, hashed=hashed)


# --------------------------------------------------------------------------------------
# OpenID Connect (Streamlit's st.login, configured in secrets.toml)
# --------------------------------------------------------------------------------------


def secrets_paths(cwd: str | Path | None = None, home: str | Path | None = None) -> list[Path]:
    """The ``secrets.toml`` files Streamlit reads for the dashboard, in the order it merges them.

    ``~/.streamlit/secrets.toml``, ``./.streamlit/secrets.toml`` (the folder
    ``callreview dashboard`` is started from) and ``dashboard/.streamlit/secrets.toml``
    (beside the app script).
    """
    home = Path(home) if home is not None else Path.home()
    cwd = Path(cwd) if cwd is not None else Path.cwd()
    out: list[Path] = []
    for p in (home / ".streamlit" / "secrets.toml", cwd / ".streamlit" / "secrets.toml", APP_DIR / ".streamlit" / "secrets.toml"):
        if p not in out:
            out.append(p)
    return out


def read_auth_section(paths: Sequence[str | Path]) -> tuple[dict[str, Any], list[Path]]:
    """The merged ``[auth]`` section of the given ``secrets.toml`` files (later files win), and the files it came from.

    Raises
    ------
    DashboardAuthError
        A file exists but is not valid TOML.
    """
    merged: dict[str, Any] = {}
    found: list[Path] = []
    for p in map(Path, paths):
        if not p.is_file():
            continue
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise DashboardAuthError(f"{p}: cannot read it as TOML ({exc}); fix or remove the file") from None
        section = data.get("auth")
        if isinstance(section, dict):
            found.append(p)
            for k, v in section.items():
                if isinstance(v, dict) and isinstance(merged.get(k), dict):
                    merged[k] = {**merged[k], **v}
                else:
                    merged[k] = v
    return merged, found


def oidc_providers(auth: Mapping[str, Any], where: str = "secrets.toml") -> list[str]:
    """The OIDC providers an ``[auth]`` section configures: ``"default"`` and/or the names of ``[auth.NAME]``.

    An empty section configures none.

    Raises
    ------
    DashboardAuthError
        The section exists but lacks a key ``st.login`` needs (the message names it).
    """
    if not auth:
        return []
    missing = [k for k in OIDC_SHARED_KEYS if not auth.get(k)]
    if missing:
        raise DashboardAuthError(f"{where}: [auth] lacks {', '.join(missing)}; add it (see README, 'Privacy and security')")
    providers: list[str] = []
    top = [k for k in OIDC_PROVIDER_KEYS if auth.get(k)]
    if top:
        lacking = [k for k in OIDC_PROVIDER_KEYS if not auth.get(k)]
        if lacking:
            raise DashboardAuthError(f"{where}: [auth] lacks {', '.join(lacking)}; add it (see README, 'Privacy and security')")
        providers.append("default")
    for name, section in auth.items():
        if not isinstance(section, Mapping) or name == "client_kwargs":
            continue
        lacking = [k for k in OIDC_PROVIDER_KEYS if not section.get(k)]
        if lacking:
            raise DashboardAuthError(f"{where}: [auth.{name}] lacks {', '.join(lacking)}; add it (see README, 'Privacy and security')")
        if "_" in name:
            raise DashboardAuthError(f"{where}: [auth.{name}]: Streamlit does not accept '_' in a provider name; rename it")
        providers.append(name)
    if not providers:
        raise DashboardAuthError(
            f"{where}: [auth] names no identity provider; add client_id, client_secret and server_metadata_url to it "
            "or to an [auth.NAME] section"
        )
    return providers


def authlib_available() -> bool:
    """Whether Authlib (>= 1.3.2, needed by ``st.login``) is installed."""
    try:
        from streamlit.auth_util import is_authlib_installed
    except ImportError:  # pragma: no cover - every supported streamlit has it
        return False
    return bool(is_authlib_installed())


def allowed_emails(env: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Lower-cased addresses and ``@domain`` entries from :data:`ALLOWED_EMAILS_ENV` (empty: no restriction)."""
    env = os.environ if env is None else env
    return tuple(x.strip().lower() for x in (env.get(ALLOWED_EMAILS_ENV) or "").split(",") if x.strip())


def email_allowed(email: str | None, allowed: Sequence[str]) -> bool:
    """Whether a signed-in user's e-mail passes the allow-list (always, when the list is empty)."""
    if not allowed:
        return True
    email = (email or "").strip().lower()
    if not email or "@" not in email:
        return False
    domain = "@" + email.rsplit("@", 1)[1]
    return email in allowed or domain in allowed


# --------------------------------------------------------------------------------------
# What the launcher checks
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthSetup:
    """How the dashboard's users are authenticated.

    Attributes
    ----------
    password : bool
        A password (plain or hashed) is set in the environment.
    oidc : tuple of str
        OIDC providers configured in ``secrets.toml`` (empty: none).
    secrets_files : tuple of Path
        The ``secrets.toml`` files holding ``[auth]``.
    """

    password: bool = False
    oidc: tuple[str, ...] = ()
    secrets_files: tuple[Path, ...] = ()

    @property
    def any(self) -> bool:
        return self.password or bool(self.oidc)

    def describe(self) -> str:
        """``password``, ``OIDC (google)``, ``password and OIDC (default)`` or ``no login``."""
        parts = (["password"] if self.password else []) + ([f"OIDC ({', '.join(self.oidc)})"] if self.oidc else [])
        return " and ".join(parts) or "no login"


def auth_setup(env: Mapping[str, str] | None = None, paths: Sequence[str | Path] | None = None) -> AuthSetup:
    """What login the dashboard would ask for with this environment and these ``secrets.toml`` files.

    Raises
    ------
    DashboardAuthError
        A malformed password hash, an unreadable ``secrets.toml``, an incomplete
        ``[auth]`` section, or OIDC configured without Authlib installed.
    """
    env = os.environ if env is None else env
    password = password_from_env(env) is not None
    auth, files = read_auth_section(secrets_paths() if paths is None else paths)
    where = ", ".join(map(str, files)) or "secrets.toml"
    providers = oidc_providers(auth, where)
    if providers and not authlib_available():
        raise DashboardAuthError(
            f"{where}: OIDC login is configured but Authlib is not installed; run `pip install 'streamlit[auth]'` (Authlib >= 1.3.2)"
        )
    return AuthSetup(password=password, oidc=tuple(providers), secrets_files=tuple(files))


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or a name) only ever reaches this machine.

    ``localhost`` and 127.0.0.0/8 and ``::1`` do; ``0.0.0.0`` and ``::`` (every
    interface) do not; a name is loopback only when every address it resolves to is.
    """
    h = (host or "").strip().strip("[]")
    if not h:
        return False
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        pass
    if h.lower() == "localhost":
        return True
    try:
        infos = socket.getaddrinfo(h, None)
    except OSError:
        return False
    addrs = {info[4][0] for info in infos}
    return bool(addrs) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addrs)


def check_exposure(host: str, env: Mapping[str, str] | None = None, paths: Sequence[str | Path] | None = None) -> AuthSetup:
    """Refuse to serve on a network address without a login; returns the login in force.

    Parameters
    ----------
    host : str
        The address the server will bind to.
    env : mapping, optional
        Environment (default ``os.environ``).
    paths : sequence of path, optional
        ``secrets.toml`` files (default :func:`secrets_paths`).

    Raises
    ------
    DashboardExposedError
        ``host`` is not loopback and neither a password nor OIDC is configured.
    DashboardAuthError
        The login configuration itself is broken (see :func:`auth_setup`).
    """
    setup = auth_setup(env, paths)
    if not is_loopback(host) and not setup.any:
        raise DashboardExposedError(
            f"refusing to serve the dashboard on {host} without a login: set {PASSWORD_ENV} "
            f"(or {PASSWORD_HASH_ENV} from `callreview hash-password`), or configure OIDC in .streamlit/secrets.toml [auth]; "
            "or serve this machine only with --host 127.0.0.1"
        )
    return setup


# --------------------------------------------------------------------------------------
# The gate every page run goes through
# --------------------------------------------------------------------------------------


def _app_oidc_providers(st: Any) -> list[str]:
    """OIDC providers from ``st.secrets`` (what ``st.login`` itself reads); [] when there is no ``[auth]``.

    Raises
    ------
    DashboardAuthError
        ``[auth]`` is there but incomplete.
    """
    try:
        section = st.secrets.get("auth") if "auth" in st.secrets else None
    except Exception:  # noqa: BLE001 - no secrets.toml at all: Streamlit raises FileNotFoundError subclasses
        return []
    if not section:
        return []
    data = section.to_dict() if hasattr(section, "to_dict") else dict(section)
    return oidc_providers(data)


def served_address() -> str | None:
    """The address a real Streamlit server is listening on (``0.0.0.0`` when it listens on all); None outside a server.

    ``streamlit run`` without ``--server.address`` listens on every interface.
    """
    try:
        from streamlit import config, runtime
        from streamlit.runtime import Runtime
    except ImportError:  # pragma: no cover - streamlit is a dependency
        return None
    address = config.get_option("server.address")
    if address:
        return str(address)
    if runtime.exists() and type(runtime.get_instance()) is Runtime:  # a real server (not a script or a test harness)
        return "0.0.0.0"
    return None


def _logged_in_user(st: Any) -> dict[str, Any] | None:
    try:
        user = st.user
        if bool(user.get("is_logged_in", False)):
            return dict(user.to_dict()) if hasattr(user, "to_dict") else dict(user)
    except Exception:  # noqa: BLE001 - no session context (scripts)
        return None
    return None


def gate(st: Any, env: Mapping[str, str] | None = None) -> bool:
    """Show the sign-in form and return False until this session is signed in; True when it may see data.

    With neither a password nor OIDC configured, every session is let in (the
    launcher only allows that on loopback). Call it before any page is built:
    when it returns False, stop the script.

    Parameters
    ----------
    st : module
        ``streamlit``.
    env : mapping, optional
        Environment (default ``os.environ``).
    """
    env = os.environ if env is None else env
    try:
        password = password_from_env(env)
        providers = _app_oidc_providers(st)
    except DashboardAuthError as exc:  # fail closed
        log.error("dashboard login misconfigured: %s", exc)
        st.error(f"The dashboard's login is misconfigured: {exc}", icon=":material/lock:")
        return False
    if password is None and not providers:
        address = served_address()
        if address is not None and not is_loopback(address):  # e.g. `streamlit run dashboard/app.py` on every interface
            log.error("dashboard served on %s without a login: refusing to show any data", address)
            st.error(
                f"This dashboard is served on {address} without a login, so it shows nothing. Start it with "
                f"`callreview dashboard DIR` (this machine only), or set {PASSWORD_ENV} or configure OIDC "
                "in .streamlit/secrets.toml [auth].",
                icon=":material/lock:",
            )
            return False
        return True
    if st.session_state.get(SESSION_KEY):
        _signed_in_sidebar(st, str(st.session_state.get(SESSION_KEY)))
        return True
    user = _logged_in_user(st) if providers else None
    if user is not None:
        if email_allowed(user.get("email"), allowed_emails(env)):
            _signed_in_sidebar(st, str(user.get("email") or user.get("name") or "signed in"), oidc=True)
            return True
        st.error(f"{user.get('email') or 'This account'} may not open this dashboard; sign in with another account.", icon=":material/block:")
        if st.button("Log out", key="auth_logout_refused"):
            st.logout()
        return False
    _sign_in_form(st, password, providers)
    return False


def _sign_in_form(st: Any, password: PasswordCheck | None, providers: list[str]) -> None:
    st.title("callreview")
    st.caption("Sign in to review calls.")
    if password is not None:
        with st.form("auth_form", clear_on_submit=True):
            attempt = st.text_input("Password", type="password", key="auth_password")
            submitted = st.form_submit_button("Sign in", type="primary")
        if submitted:
            if password.verify(attempt or ""):
                st.session_state[SESSION_KEY] = "password"
                st.session_state[JUST_SIGNED_IN] = True
                log.info("dashboard: a session signed in with the password")
                st.rerun()
            time.sleep(FAILED_DELAY)
            log.warning("dashboard: wrong password entered")
            st.error("Wrong password.", icon=":material/lock:")
    for name in providers:
        label = "Sign in with your organisation's account" if name == "default" else f"Sign in with {name}"
        if st.button(label, key=f"auth_oidc_{name}", icon=":material/login:"):
            if not authlib_available():
                st.error("OIDC sign-in needs Authlib: `pip install 'streamlit[auth]'`.", icon=":material/error:")
            else:
                st.login(None if name == "default" else name)


def _signed_in_sidebar(st: Any, who: str, oidc: bool = False) -> None:
    with st.sidebar:
        st.caption(f"Signed in ({who})")
        if st.button("Sign out", key="auth_sign_out", icon=":material/logout:"):
            st.session_state.pop(SESSION_KEY, None)
            if oidc:
                st.logout()
            st.rerun()
