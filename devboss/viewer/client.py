"""Facts about the served Neuroglancer client that devboss's answers depend on (no Django models here)."""
import re

# The OIDC client whose tokens the local viewer gets (devboss.viewer.credentials); they read, never write.
VIEWER_CLIENT_ID = "neuroglancer"


def auth_server(origin):
    """The auth server Neuroglancer's boss:// source derives from a host (ng:src/datasource/boss/frontend.ts),
    the `parameters` of its credentials requests: `https://auth` + the host after its first dot-free run +
    `/auth`; None for a non-https origin (boss:// refuses those)."""
    match = re.match(r"^(?:https://[^.]+([^/]+))", origin)
    return f"https://auth{match.group(1)}/auth" if match else None
