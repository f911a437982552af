"""The RS256 signing key of devboss's OIDC provider: from the environment, else a PEM made once in VAR_DIR.

A key made per process would break as soon as two processes (gunicorn workers) sign and verify.
"""
import os
from pathlib import Path


def _new_pem():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def load_private_key(var_dir, env_name="DEVBOSS_OIDC_RSA_PRIVATE_KEY"):
    """The PEM text of the signing key. Safe when several processes start at once."""
    if os.environ.get(env_name):
        return os.environ[env_name]
    path = Path(var_dir) / "oidc-rsa-key.pem"
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        tmp.write_text(_new_pem())
        os.chmod(tmp, 0o600)
        try:
            os.link(tmp, path)  # atomic; fails if another process got there first, and then we use theirs
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text()
