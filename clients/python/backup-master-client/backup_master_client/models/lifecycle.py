from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Lifecycle")


@_attrs_define
class Lifecycle:
    """How a restore stops, starts and proves a component. Commands are split into arguments like
    the hooks' commands (no shell unless the command names one), run in the component's home
    with `COMPONENT`, `COMPONENT_HOME`, `RESTORE_ID` and `BACKUP_ID` set; empty means none.

        Attributes:
            health_command (str): Exits 0 when the component is healthy; retried until `start_timeout_seconds`; empty:
                none. Example: /opt/maestro/bin/lui-ctl status.
            rollback_on_unhealthy (bool): A restore after which the component does not become healthy is undone at once:
                every
                component goes back to its pre-restore state and is started again.
            start_command (str): Starts it again once the restore's files are in place; empty: none. Example:
                /opt/maestro/bin/lui-ctl start.
            start_timeout_seconds (int): Seconds the component has to become healthy after its start (also the timeout of
                each
                stop and start command), 1 to 3600. Example: 120.
            stop_command (str): Stops the component before a restore changes its home; empty: none. Example:
                /opt/maestro/bin/lui-ctl stop.
    """

    health_command: str
    rollback_on_unhealthy: bool
    start_command: str
    start_timeout_seconds: int
    stop_command: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        health_command = self.health_command

        rollback_on_unhealthy = self.rollback_on_unhealthy

        start_command = self.start_command

        start_timeout_seconds = self.start_timeout_seconds

        stop_command = self.stop_command

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "health_command": health_command,
                "rollback_on_unhealthy": rollback_on_unhealthy,
                "start_command": start_command,
                "start_timeout_seconds": start_timeout_seconds,
                "stop_command": stop_command,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        health_command = d.pop("health_command")

        rollback_on_unhealthy = d.pop("rollback_on_unhealthy")

        start_command = d.pop("start_command")

        start_timeout_seconds = d.pop("start_timeout_seconds")

        stop_command = d.pop("stop_command")

        lifecycle = cls(
            health_command=health_command,
            rollback_on_unhealthy=rollback_on_unhealthy,
            start_command=start_command,
            start_timeout_seconds=start_timeout_seconds,
            stop_command=stop_command,
        )

        lifecycle.additional_properties = d
        return lifecycle

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
