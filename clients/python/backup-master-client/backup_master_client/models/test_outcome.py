from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="TestOutcome")


@_attrs_define
class TestOutcome:
    """What a test send came to (`POST /notification-targets/{name}/test`).

    Attributes:
        delivery_id (str): The delivery record of this send. Example: N20261126T020004.120Z-00000001.
        latency_ms (int):  Example: 84.
        ok (bool): Whether the target accepted the test event.
        target (str):  Example: ops-webhook.
        error (None | str | Unset): Why it failed.
        reply (None | str | Unset): The SMTP server's reply (email).
        status (int | None | Unset): The HTTP status (webhook, ping). Example: 200.
    """

    delivery_id: str
    latency_ms: int
    ok: bool
    target: str
    error: None | str | Unset = UNSET
    reply: None | str | Unset = UNSET
    status: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        delivery_id = self.delivery_id

        latency_ms = self.latency_ms

        ok = self.ok

        target = self.target

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        reply: None | str | Unset
        if isinstance(self.reply, Unset):
            reply = UNSET
        else:
            reply = self.reply

        status: int | None | Unset
        if isinstance(self.status, Unset):
            status = UNSET
        else:
            status = self.status

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "delivery_id": delivery_id,
                "latency_ms": latency_ms,
                "ok": ok,
                "target": target,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if reply is not UNSET:
            field_dict["reply"] = reply
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        delivery_id = d.pop("delivery_id")

        latency_ms = d.pop("latency_ms")

        ok = d.pop("ok")

        target = d.pop("target")

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        def _parse_reply(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        reply = _parse_reply(d.pop("reply", UNSET))

        def _parse_status(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        status = _parse_status(d.pop("status", UNSET))

        test_outcome = cls(
            delivery_id=delivery_id,
            latency_ms=latency_ms,
            ok=ok,
            target=target,
            error=error,
            reply=reply,
            status=status,
        )

        test_outcome.additional_properties = d
        return test_outcome

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
