"""Container health probe: exit 0 when this service's /health answers 2xx, 1 otherwise.

The runtime images carry no curl or wget (fewer binaries, fewer CVEs), so the probe is the
interpreter the service already runs on. It reads the same SDS_HTTP_PORT as the service.
"""

import os
import sys
import urllib.request

PORT = os.environ.get("SDS_HTTP_PORT", "8000")
PATH = sys.argv[1] if len(sys.argv) > 1 else "/health"

try:
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}{PATH}", timeout=3) as response:
        sys.exit(0 if 200 <= response.status < 300 else 1)
except Exception:  # any failure means unhealthy
    sys.exit(1)
