from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.operator_decision import OperatorDecision


T = TypeVar("T", bound="Participation")


@_attrs_define
class Participation:
    """Where an agent's part of a backup or restore stands with its master (two-phase commit).
    A participant that voted yes (a backup `prepared`, a restore `applied`) never decides
    alone: after `decision_timeout_seconds` without a word from the master it is marked in
    doubt (an alarm) and keeps waiting for the master, or for an operator.

        Attributes:
            in_doubt_since (datetime.datetime | None | Unset): Set while it is in doubt: it voted yes and heard nothing from
                the master within the
                agent's `decision_timeout_seconds` (a monotonic clock, restarted when the agent
                starts). Cleared when the master speaks again.
            last_message_at (datetime.datetime | None | Unset): When the master last spoke about it (prepare, renew, commit,
                abort; for a restore
                apply, renew, commit, rollback). Written to disk with each change of state; the
                agent's API shows the live value.
            operator (None | OperatorDecision | Unset):
    """

    in_doubt_since: datetime.datetime | None | Unset = UNSET
    last_message_at: datetime.datetime | None | Unset = UNSET
    operator: None | OperatorDecision | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.operator_decision import OperatorDecision  # noqa: PLC0415

        in_doubt_since: None | str | Unset
        if isinstance(self.in_doubt_since, Unset):
            in_doubt_since = UNSET
        elif isinstance(self.in_doubt_since, datetime.datetime):
            in_doubt_since = self.in_doubt_since.isoformat()
        else:
            in_doubt_since = self.in_doubt_since

        last_message_at: None | str | Unset
        if isinstance(self.last_message_at, Unset):
            last_message_at = UNSET
        elif isinstance(self.last_message_at, datetime.datetime):
            last_message_at = self.last_message_at.isoformat()
        else:
            last_message_at = self.last_message_at

        operator: dict[str, Any] | None | Unset
        if isinstance(self.operator, Unset):
            operator = UNSET
        elif isinstance(self.operator, OperatorDecision):
            operator = self.operator.to_dict()
        else:
            operator = self.operator

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update({})
        if in_doubt_since is not UNSET:
            field_dict["in_doubt_since"] = in_doubt_since
        if last_message_at is not UNSET:
            field_dict["last_message_at"] = last_message_at
        if operator is not UNSET:
            field_dict["operator"] = operator

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.operator_decision import OperatorDecision  # noqa: PLC0415

        d = dict(src_dict)

        def _parse_in_doubt_since(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                in_doubt_since_type_0 = datetime.datetime.fromisoformat(data)

                return in_doubt_since_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        in_doubt_since = _parse_in_doubt_since(d.pop("in_doubt_since", UNSET))

        def _parse_last_message_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                last_message_at_type_0 = datetime.datetime.fromisoformat(data)

                return last_message_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        last_message_at = _parse_last_message_at(d.pop("last_message_at", UNSET))

        def _parse_operator(data: object) -> None | OperatorDecision | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                operator_type_1 = OperatorDecision.from_dict(data)

                return operator_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | OperatorDecision | Unset, data)

        operator = _parse_operator(d.pop("operator", UNSET))

        participation = cls(
            in_doubt_since=in_doubt_since,
            last_message_at=last_message_at,
            operator=operator,
        )

        participation.additional_properties = d
        return participation

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
