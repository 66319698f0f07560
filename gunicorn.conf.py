"""gunicorn's settings for the hub (read from the working directory: ``gunicorn 'hub.app:create_app()'``).

Proxy trust comes from one setting, ``HUB_PROXY_HOPS`` (see SECURITY.md): the app's ``ProxyFix`` reads exactly
that many ``X-Forwarded-For`` / ``-Proto`` values, and gunicorn trusts none of them itself — by default it would
take ``X-Forwarded-Proto`` from any loopback peer, whatever ``HUB_PROXY_HOPS`` says. Other settings keep their
gunicorn defaults but the request-line limit (below); pass the rest on the command line (``-w 4 -b
0.0.0.0:8000``).
"""

import os

from hub.web.security import proxy_hops

PROXY_HOPS = proxy_hops(dict(os.environ))  # refuses a bad value at start-up, in words

forwarded_allow_ips = ""  # no peer may set the scheme for gunicorn: the app's ProxyFix does, for HUB_PROXY_HOPS
secure_scheme_headers: dict[str, str] = {}
# the app answers a request target over hub.web.security.MAX_URI (4094) with a 414 in words (a problem document on
# the API); gunicorn's own plain 414 page is left for lines over 8190 bytes, its maximum
limit_request_line = 8190
