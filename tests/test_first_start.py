"""The README's first start, as a newcomer lives it: `flask run` on the embedded default.

The server runs as a subprocess on a free port with nothing configured (SQLite, no mail
server, no Redis). Everything the test knows comes from that console and over HTTP: the
demo accounts and their password, then each mail the server keeps, whose link must point
at the port the server really runs on, and must let the person set a password and sign in.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
# what the embedded default means: none of these set, whatever the test run's environment
UNSET = {
    "DATABASE_URL",
    "REDIS_URL",
    "MAIL_SERVER",
    "PUBLIC_URL",
    "SECRET_KEY",
    "SEED_DEMO",
    "TRUSTED_HOSTS",
    "LOG_LEVEL",
}
# guards against a hung server, not speed requirements: the first start migrates and
# seeds; a kept mail is printed before the request that caused it is answered
START_SECONDS = 120
PRINT_SECONDS = 30
NEW_PASSWORD = "una clave larga de prueba"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Console:
    """Everything the server prints (stdout and stderr), read as it comes."""

    def __init__(self, process: subprocess.Popen):
        self.process = process
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return "".join(self._lines)

    def wait_for(self, pattern: str, flags=0, seconds=PRINT_SECONDS) -> re.Match:
        """The first match of `pattern` in the output, waiting for the server to print it."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while True:
                found = re.search(pattern, "".join(self._lines), flags)
                if found:
                    return found
                left = deadline - time.monotonic()
                assert left > 0 and self.process.poll() is None, (
                    f"the server never printed {pattern!r}; its output:\n{''.join(self._lines)}"
                )
                self._changed.wait(min(left, 1))

    def close(self):
        self._reader.join(timeout=30)


def kept_mail_to(console: Console, address: str, after: int = 0) -> str:
    """The text of the first mail to `address` the console shows (from the `after`-th on)."""
    block = re.compile(
        r"mail kept, not sent[^\n]*\n(={20,})\n(To: [^\n]*<"
        + re.escape(address)
        + r">\n.*?)\n\1\n",
        re.S,
    )
    console.wait_for(block.pattern, re.S)
    blocks = [m.group(2) for m in block.finditer(console.text)]
    assert len(blocks) > after, console.text
    return blocks[after]


def csrf_token(page: requests.Response) -> str:
    found = re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', page.text)
    assert found, page.text[:2000]
    return found.group(1)


def sign_in(http: requests.Session, base: str, email: str, password: str) -> requests.Response:
    form = http.get(f"{base}/login")
    return http.post(
        f"{base}/login",
        data={"csrf_token": csrf_token(form), "email": email, "password": password, "next": ""},
        allow_redirects=False,
    )


def set_password_from(http: requests.Session, link: str, password: str) -> None:
    form = http.get(link)
    assert form.status_code == 200, form.text[:2000]
    saved = http.post(
        link,
        data={"csrf_token": csrf_token(form), "password": password, "confirm": password},
        allow_redirects=False,
    )
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/login"), saved.text


def _environment(instance: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in UNSET and not k.startswith(("MESA_", "FLASK_", "TEST_"))
    }
    env.update(INSTANCE_PATH=str(instance), PYTHONUNBUFFERED="1")
    return env


def test_a_newcomer_activates_an_invited_aiq_and_resets_a_password_from_the_console(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    flask = Path(sys.executable).parent / "flask"
    with subprocess.Popen(
        [str(flask), "--app", "wsgi", "run", "--port", str(port)],
        cwd=ROOT,
        env=_environment(tmp_path / "instance"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as server:
        console = Console(server)
        try:
            console.wait_for(r"Running on http://127\.0\.0\.1:" + str(port), seconds=START_SECONDS)
            accounts = console.wait_for(r"demo accounts[^\n]*\n((?:  .*\n)+)").group(1)
            password = re.search(r"^  password: (\S+)$", accounts, re.M).group(1)
            emails = dict(re.findall(r"^  (\w+) +(\S+@\S+)$", accounts, re.M))
            assert emails["agq"] == "agq@sge.gob.ec", accounts
            assert "No MAIL_SERVER: each mail is printed here" in console.text

            with requests.Session() as agq:
                assert sign_in(agq, base, emails["agq"], password).status_code == 302
                # Personas: the AGQ adds the AIQ of MINEJ, who gets an invitation
                form = agq.get(f"{base}/personas/new/")
                minej = re.search(r'<option value="(\d+)"[^>]*>[^<]*MINEJ', form.text)
                created = agq.post(
                    f"{base}/personas/new/",
                    data={
                        "csrf_token": csrf_token(form),
                        "full_name": "Marcela Núñez Ordóñez",
                        "cedula": "1710000082",
                        "email": "marcela.nunez@minej.gob.ec",
                        "role": "aiq",
                        "institution": minej.group(1),
                        "cargo": "Administradora Institucional Quipux",
                        "phone": "",
                        "mobile": "",
                    },
                    allow_redirects=False,
                )
                assert created.status_code == 302, created.text[:3000]

                invitation = kept_mail_to(console, "marcela.nunez@minej.gob.ec")
                assert "To:      Marcela Núñez Ordóñez <marcela.nunez@minej.gob.ec>" in invitation
                assert re.search(r"^Subject: .+", invitation, re.M)
                link = re.search(r"https?://\S+/password/\S+", invitation).group(0)
                assert link.startswith(f"{base}/password/"), invitation  # the real port
                assert f"{base}/login" in invitation

                # Correo saliente keeps the personal link from the AGQ all the same
                token = link.rsplit("/", 1)[1]
                listing = agq.get(f"{base}/correo-saliente/")
                assert listing.status_code == 200, console.text[-5000:]
                assert "marcela.nunez@minej.gob.ec" in listing.text
                rows = set(re.findall(r"details/\?id=(\d+)", listing.text))
                assert rows, listing.text[:2000]
                for row in rows:
                    details = agq.get(f"{base}/correo-saliente/details/?id={row}")
                    assert details.status_code == 200 and token not in details.text

            with requests.Session() as newcomer:
                set_password_from(newcomer, link, NEW_PASSWORD)
                signed_in = sign_in(newcomer, base, "marcela.nunez@minej.gob.ec", NEW_PASSWORD)
                assert signed_in.status_code == 302, signed_in.text[:2000]
                home = newcomer.get(base + "/")
                assert home.status_code == 200 and "Marcela Núñez Ordóñez" in home.text

            # ¿Olvidó su contraseña? for a demo account: the link comes on the console too
            with requests.Session() as focal:
                form = focal.get(f"{base}/password/forgot")
                asked = focal.post(
                    f"{base}/password/forgot",
                    data={"csrf_token": csrf_token(form), "email": emails["focal"]},
                    allow_redirects=False,
                )
                assert asked.status_code == 302
                reset = kept_mail_to(console, emails["focal"])
                link = re.search(r"https?://\S+/password/\S+", reset).group(0)
                assert link.startswith(f"{base}/password/"), reset
                set_password_from(focal, link, NEW_PASSWORD)
                assert sign_in(focal, base, emails["focal"], password).status_code == 401
                assert sign_in(focal, base, emails["focal"], NEW_PASSWORD).status_code == 302
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            console.close()
