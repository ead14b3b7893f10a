"""Shared HTTP handling of the gateways: status codes become transient or permanent errors."""

from __future__ import annotations

import httpx

from civicgrid_notifications.service_layer.delivery import DeliveryError


def check(response: httpx.Response, gateway: str) -> None:
    """2xx passes; 408/425/429 and 5xx are worth retrying; any other 4xx is permanent."""
    code = response.status_code
    if 200 <= code < 300:
        return
    transient = code >= 500 or code in (408, 425, 429)
    raise DeliveryError(f"{gateway} answered HTTP {code}", permanent=not transient)


async def post(client: httpx.AsyncClient, gateway: str, url: str, **kwargs: object) -> httpx.Response:
    try:
        response = await client.post(url, **kwargs)  # type: ignore[arg-type]
    except httpx.HTTPError as error:
        raise DeliveryError(f"{gateway} unreachable: {type(error).__name__}") from None
    check(response, gateway)
    return response
