"""Docker HEALTHCHECK probe: exit 0 when /healthz answers 200, else 1 (no curl in slim images).

The port comes from Settings, so the probe asks where the replica really listens.
"""

import sys
import urllib.request

from .settings import Settings

try:
    port = Settings.from_env().port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as exc:  # any failure means unhealthy; say why in `docker inspect`
    print(f"healthcheck failed: {exc}", file=sys.stderr)
    sys.exit(1)
