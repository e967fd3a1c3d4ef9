"""POST a signed JSON payload to a unit's endpoint.

The signature is HMAC-SHA256 of the exact body bytes with the unit's secret, sent as
`X-Tiepnhan-Signature-256: sha256=<hex>` (the scheme GitHub and Facebook use), with a
delivery id the receiver can use to ignore a repeated delivery.
"""

from __future__ import annotations

import hashlib
import hmac
import urllib.error
import urllib.request

SIGNATURE_HEADER = "X-Tiepnhan-Signature-256"
DELIVERY_HEADER = "X-Tiepnhan-Delivery"


class WebhookTransientError(Exception):
    pass


class WebhookPermanentError(Exception):
    pass


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def post_json(url: str, body: bytes, secret: str, delivery_id: str, timeout: float) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8", SIGNATURE_HEADER: signature(secret, body), DELIVERY_HEADER: delivery_id},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the URL is from the validated config
            return int(response.status)
    except urllib.error.HTTPError as exc:
        # 408, 429 and 5xx may pass; any other 4xx means the request itself is refused.
        if exc.code in (408, 429) or exc.code >= 500:
            raise WebhookTransientError(f"webhook {exc.code}") from exc
        raise WebhookPermanentError(f"webhook từ chối ({exc.code})") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WebhookTransientError(f"không gọi được webhook: {exc}") from exc
