"""Sign-in codes through the SMS gateway port, and the development gateway that prints them."""

from __future__ import annotations

from civicgrid_contracts.values import mask_phone
from civicgrid_notifications.adapters.channels.sms import SmsGatewayChannel
from civicgrid_notifications.service_layer.delivery import DeliveryError, Outbound
from civicgrid_notifications.service_layer.signin import SignInUnavailable
from civicgrid_runtime.logging import get_logger

log = get_logger(__name__)


def code_text(code: str, minutes: int) -> str:
    return f"{code}（{minutes}分钟内有效，请勿告诉他人）"


class GatewayCodeSender:
    """Sends the code as one SMS through the configured gateway (the same port as notices)."""

    def __init__(self, channel: SmsGatewayChannel) -> None:
        self._channel = channel

    async def send_code(self, phone: str, code: str, minutes: int, reference: str) -> None:
        outbound = Outbound(
            entry_ids=(f"signin-{reference}",),
            member_id="",
            category="signin",
            priority="critical",
            title="登录验证码",
            body=code_text(code, minutes),
            link=None,
        )
        try:
            await self._channel.send(outbound, {"sms": phone})
        except DeliveryError as error:
            log.warning("sign-in code not sent: the SMS gateway failed", error=str(error))
            raise SignInUnavailable("the SMS gateway did not take the code; try again shortly") from None


class DevelopmentCodeSender:
    """Development only (no gateway configured): prints the code with the masked number."""

    async def send_code(self, phone: str, code: str, minutes: int, reference: str) -> None:
        line = f"[development SMS gateway] sign-in code for {mask_phone(phone)}: {code} (valid {minutes} min)"
        print(line, flush=True)
