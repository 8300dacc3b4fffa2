"""Dashboard login: password (plain or hashed), OIDC via st.login, and the refusal to serve a network address without one.

The app is driven by Streamlit's AppTest on the real batch output of the sample
calls (the same folder ``tests/test_dashboard.py`` builds); the refusal is
checked through the real ``callreview dashboard`` command.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard import auth
from dashboard.auth import (
    PASSWORD_ENV,
    PASSWORD_HASH_ENV,
    AuthSetup,
    PasswordCheck,
    check_exposure,
    email_allowed,
    hash_password,
    is_loopback,
    oidc_providers,
    read_auth_section,
)
from dashboard.errors import DashboardAuthError, DashboardExposedError
from tests.test_dashboard import APP, batch_dir  # noqa: F401  (fixture: the shared batch output)

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"
OIDC = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-long-random-cookie-secret-for-tests",
    "client_id": "callreview-test",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "https://accounts.example.com/.well-known/openid-configuration",
}


@pytest.fixture
def no_login_env(monkeypatch, tmp_path: Path):
    """No password in the environment and no secrets.toml that Streamlit or the launcher would find."""
    for var in (PASSWORD_ENV, PASSWORD_HASH_ENV, auth.ALLOWED_EMAILS_ENV):
        monkeypatch.delenv(var, raising=False)
    beside_app = auth.APP_DIR / ".streamlit" / "secrets.toml"
    if beside_app.exists():
        pytest.skip(f"{beside_app} exists: it would configure the login of every test")
    return tmp_path


def cli_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in (PASSWORD_ENV, PASSWORD_HASH_ENV)}
    env.update(HOME=str(tmp_path), HF_HUB_OFFLINE="1", **extra)  # no ~/.streamlit/secrets.toml of the machine
    return env


# --------------------------------------------------------------------------------------
# Passwords and the refusal logic
# --------------------------------------------------------------------------------------


def test_password_plain_and_hashed_verify_only_the_right_one() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("scrypt$") and PASSWORD not in hashed
    assert hash_password(PASSWORD) != hashed  # salted
    for check in (PasswordCheck(plain=PASSWORD), PasswordCheck(hashed=hashed), PasswordCheck(plain="other", hashed=hashed)):
        assert check.verify(PASSWORD)
        assert not check.verify(PASSWORD + " ")
        assert not check.verify("")
        assert PASSWORD not in repr(check)
    assert not PasswordCheck().verify("")


def test_malformed_password_hash_says_how_to_make_one() -> None:
    for bad in ("plain-text", "scrypt$16384$8$1$!!$??", "bcrypt$1$2$3$4$5", "scrypt$1000$8$1$c2FsdA==$aGFzaGhhc2hoYXNoaGFzaA=="):
        with pytest.raises(DashboardAuthError, match="callreview hash-password"):
            auth.password_from_env({PASSWORD_HASH_ENV: bad})
    with pytest.raises(DashboardAuthError, match="empty"):
        hash_password("")


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "10.0.0.5", "2001:db8::1", "", "no-such-host.invalid"])
def test_network_addresses(host: str) -> None:
    assert not is_loopback(host)


def test_network_address_without_login_is_refused_naming_what_to_set(no_login_env: Path) -> None:
    with pytest.raises(DashboardExposedError) as err:
        check_exposure("0.0.0.0", env={}, paths=[no_login_env / "secrets.toml"])
    msg = str(err.value)
    assert "\n" not in msg and "0.0.0.0" in msg
    assert PASSWORD_ENV in msg and PASSWORD_HASH_ENV in msg and "secrets.toml [auth]" in msg and "--host 127.0.0.1" in msg
    # loopback needs no login
    assert check_exposure("127.0.0.1", env={}, paths=[]) == AuthSetup()


def test_network_address_with_a_password_is_allowed(no_login_env: Path) -> None:
    assert check_exposure("0.0.0.0", env={PASSWORD_ENV: PASSWORD}, paths=[]).password
    assert check_exposure("192.168.1.20", env={PASSWORD_HASH_ENV: hash_password(PASSWORD)}, paths=[]).describe() == "password"
    with pytest.raises(DashboardAuthError, match="not a callreview password hash"):
        check_exposure("0.0.0.0", env={PASSWORD_HASH_ENV: "oops"}, paths=[])


def _write_secrets(path: Path, auth_lines: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(auth_lines)
    return path


def test_oidc_configuration_is_read_like_streamlit_reads_it(tmp_path: Path) -> None:
    body = "".join(f'{k} = "{v}"\n' for k, v in OIDC.items())
    home = _write_secrets(tmp_path / "home/.streamlit/secrets.toml", "[auth]\n" + body)
    section, files = read_auth_section(auth.secrets_paths(cwd=tmp_path / "cwd", home=tmp_path / "home"))
    assert files == [home] and oidc_providers(section) == ["default"]
    # named providers; a later file (the start folder's) overrides keys of an earlier one
    named = _write_secrets(
        tmp_path / "cwd/.streamlit/secrets.toml",
        '[auth]\nredirect_uri = "https://calls.example.com/oauth2callback"\n'
        '[auth.okta]\nclient_id = "x"\nclient_secret = "y"\nserver_metadata_url = "https://okta.example.com/.well-known/openid-configuration"\n',
    )
    section, files = read_auth_section(auth.secrets_paths(cwd=tmp_path / "cwd", home=tmp_path / "home"))
    assert files == [home, named] and section["redirect_uri"].startswith("https://calls.example.com")
    assert oidc_providers(section) == ["default", "okta"]


@pytest.mark.parametrize(
    "section, missing",
    [
        ({k: v for k, v in OIDC.items() if k != "cookie_secret"}, "cookie_secret"),
        ({k: v for k, v in OIDC.items() if k != "client_secret"}, "client_secret"),
        ({"redirect_uri": OIDC["redirect_uri"], "cookie_secret": "s"}, "names no identity provider"),
        ({"redirect_uri": OIDC["redirect_uri"], "cookie_secret": "s", "google": {"client_id": "x"}}, "[auth.google] lacks client_secret"),
    ],
)
def test_incomplete_oidc_configuration_names_the_missing_key(section: dict, missing: str) -> None:
    with pytest.raises(DashboardAuthError) as err:
        oidc_providers(section, "secrets.toml")
    assert missing in str(err.value) and "\n" not in str(err.value)


def test_network_address_with_oidc_is_allowed_when_authlib_is_installed(tmp_path: Path) -> None:
    secrets = _write_secrets(tmp_path / "secrets.toml", "[auth]\n" + "".join(f'{k} = "{v}"\n' for k, v in OIDC.items()))
    if auth.authlib_available():
        setup = check_exposure("0.0.0.0", env={}, paths=[secrets])
        assert setup.oidc == ("default",) and setup.secrets_files == (secrets,)
    else:  # st.login would fail at the first sign-in: say so before serving
        with pytest.raises(DashboardAuthError, match=r"pip install 'streamlit\[auth\]'"):
            check_exposure("0.0.0.0", env={}, paths=[secrets])


def test_email_allow_list() -> None:
    allowed = auth.allowed_emails({auth.ALLOWED_EMAILS_ENV: "ana@example.com, @calls.example.org"})
    assert email_allowed("Ana@Example.com", allowed) and email_allowed("bo@calls.example.org", allowed)
    assert not email_allowed("eve@example.com", allowed) and not email_allowed("bo@evil-calls.example.org", allowed)
    assert not email_allowed(None, allowed) and email_allowed(None, ())


# --------------------------------------------------------------------------------------
# The command
# --------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_dashboard_command_refuses_a_network_address_without_a_login(tmp_path: Path, host: str) -> None:
    (tmp_path / "out").mkdir()
    port = _free_port()
    p = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "dashboard", str(tmp_path / "out"), "--host", host, "--port", str(port)],
        capture_output=True, text=True, cwd=tmp_path, env=cli_env(tmp_path) | {"PYTHONPATH": str(ROOT)}, timeout=60,
    )
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: refusing to serve the dashboard on {host} without a login"), p.stderr
    assert PASSWORD_ENV in lines[0] and "secrets.toml" in lines[0]
    assert "callreview dashboard" not in p.stdout  # nothing was started
    with socket.socket() as s:  # and nothing listens on the port
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_dashboard_command_serves_a_network_address_with_a_password(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    port = _free_port()
    log = tmp_path / "dashboard.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.cli", "dashboard", str(tmp_path / "out"), "--host", "0.0.0.0", "--port", str(port)],
            cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            env=cli_env(tmp_path, **{PASSWORD_HASH_ENV: hash_password(PASSWORD), "PYTHONPATH": str(ROOT)}),
        )
    try:
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read().strip() == b"ok":
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.time() < deadline, log.read_text()
            time.sleep(0.5)
        text = log.read_text()
        assert f"http://0.0.0.0:{port}" in text and "login: password" in text and "plain HTTP" in text
    finally:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def test_hash_password_command_prints_a_hash_the_dashboard_accepts(tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "hash-password"], input=PASSWORD + "\n", capture_output=True, text=True,
        cwd=ROOT, env=cli_env(tmp_path), timeout=60,
    )
    assert p.returncode == 0, p.stderr
    hashed = p.stdout.strip()
    assert PASSWORD not in p.stdout and auth.password_from_env({PASSWORD_HASH_ENV: hashed}).verify(PASSWORD)
    p = subprocess.run([sys.executable, "-m", "analysis.cli", "hash-password"], input="\n", capture_output=True, text=True,
                       cwd=ROOT, env=cli_env(tmp_path), timeout=60)
    assert p.returncode == 2 and "empty" in p.stderr


# --------------------------------------------------------------------------------------
# The app: nothing but the sign-in form until signed in
# --------------------------------------------------------------------------------------


def app(folder: Path, call: str | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=120)
    at.session_state["catalog_dir"] = str(folder)
    if call:
        at.query_params["call"] = call
    return at


def call_ids(folder: Path) -> list[str]:
    import sqlite3

    con = sqlite3.connect(folder / "catalog.sqlite")
    try:
        return [r[0] for r in con.execute("SELECT call_id FROM calls")]
    finally:
        con.close()


def rendered_text(at) -> str:
    """Every text value the run produced (markdown, captions, titles, alerts, widget labels, tables)."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "text", "info", "warning", "error", "success", "code"):
        parts += [str(getattr(e, "value", "")) for e in getattr(at, kind)]
    for kind in ("button", "text_input", "selectbox", "multiselect"):
        parts += [str(getattr(e, "label", "")) for e in getattr(at, kind)]
    parts += [e.value.to_string() for e in at.dataframe]
    return "\n".join(parts)


def only_the_sign_in_form(at, folder: Path) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert [t.label for t in at.text_input] == ["Password"]
    assert not at.dataframe and not at.get("audio") and not at.sidebar.text_input  # no calls, no player, no reviewer box
    text = rendered_text(at)
    for call_id in call_ids(folder):
        assert call_id not in text
    assert str(folder) not in text


def test_without_the_password_only_the_sign_in_form_renders(batch_dir: Path, no_login_env, monkeypatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    only_the_sign_in_form(app(batch_dir).run(), batch_dir)
    # asking for a call by URL changes nothing
    at = app(batch_dir, call="calm_agent").run()
    only_the_sign_in_form(at, batch_dir)
    at = app(batch_dir)
    at.switch_page("views/review.py").run()
    only_the_sign_in_form(at, batch_dir)


def test_a_wrong_password_is_rejected(batch_dir: Path, no_login_env, monkeypatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    monkeypatch.setattr(auth, "FAILED_DELAY", 0.0)
    at = app(batch_dir).run()
    for wrong in ("", PASSWORD.upper(), PASSWORD[:-1]):
        at.text_input(key="auth_password").input(wrong)
        at.button[0].click().run()
        assert [e.value for e in at.error] == ["Wrong password."]
        only_the_sign_in_form(at, batch_dir)
    assert auth.SESSION_KEY not in at.session_state


@pytest.mark.parametrize("hashed", [False, True], ids=["plain", "hashed"])
def test_the_right_password_shows_the_calls_page(batch_dir: Path, no_login_env, monkeypatch, hashed: bool) -> None:
    if hashed:
        monkeypatch.setenv(PASSWORD_HASH_ENV, hash_password(PASSWORD))
    else:
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    at = app(batch_dir, call=None).run()
    at.text_input(key="auth_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception or at.error]
    assert sorted(at.dataframe[0].value["Call"]) == sorted(call_ids(batch_dir))  # the Calls page with the catalog
    assert "Signed in (password)" in [c.value for c in at.sidebar.caption]
    # the session stays signed in; signing out brings the form back
    at.run()
    assert at.dataframe
    at.sidebar.button(key="auth_sign_out").click().run()
    only_the_sign_in_form(at, batch_dir)


def test_a_link_to_a_call_opens_it_after_signing_in(batch_dir: Path, no_login_env, monkeypatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    at = app(batch_dir, call="rude_agent").run()
    only_the_sign_in_form(at, batch_dir)
    at.text_input(key="auth_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception and [t.value for t in at.title] == ["Call review · rude_agent"]


def test_the_sign_in_form_does_not_appear_on_this_machine_without_a_login(batch_dir: Path, no_login_env) -> None:
    at = app(batch_dir).run()
    assert not at.exception and at.dataframe and not [t for t in at.text_input if t.label == "Password"]


def test_an_incomplete_auth_section_shows_nothing(batch_dir: Path, no_login_env) -> None:
    at = app(batch_dir)
    at.secrets["auth"] = {k: v for k, v in OIDC.items() if k != "cookie_secret"}
    at.run()
    assert not at.exception and not at.dataframe and not at.button and not at.text_input
    assert "login is misconfigured" in at.error[0].value and "cookie_secret" in at.error[0].value


def test_oidc_sign_in_gate(batch_dir: Path, no_login_env, monkeypatch) -> None:
    at = app(batch_dir)
    at.secrets["auth"] = dict(OIDC)
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in with your organisation's account"]
    assert not at.dataframe and not at.text_input  # no password form (none set), no data
    assert not any(cid in rendered_text(at) for cid in call_ids(batch_dir))

    at.user = {"is_logged_in": True, "email": "ana@example.com", "name": "Ana"}
    at.run()
    assert not at.exception and at.dataframe and "Signed in (ana@example.com)" in [c.value for c in at.sidebar.caption]

    monkeypatch.setenv(auth.ALLOWED_EMAILS_ENV, "@calls.example.org")
    at.run()
    assert not at.dataframe and "ana@example.com may not open this dashboard" in at.error[0].value
