from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.lifecycle_state import LifecycleState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.lifecycle import Lifecycle
    from ..models.outcome import Outcome


T = TypeVar("T", bound="ComponentLifecycle")


@_attrs_define
class ComponentLifecycle:
    """What a restore did to stop, start and prove one component (`lifecycle` in the restore
    record), with the settings as they were when the restore began (a restart uses these).

        Attributes:
            component (str):  Example: lui.
            home (str): The working folder of the commands. Example: /srv/lui.
            settings (Lifecycle): How a restore stops, starts and proves a component. Commands are split into arguments like
                the hooks' commands (no shell unless the command names one), run in the component's home
                with `COMPONENT`, `COMPONENT_HOME`, `RESTORE_ID` and `BACKUP_ID` set; empty means none.
            state (LifecycleState): Where a component stands in a restore's stop / start / health sequence. The states the
                journal needs: `stopping` and `stopped` (started again after a crash), `starting` and
                `started` (running on restored data: stopped again before a rollback).
            agent (None | str | Unset): For a remote component: the agent that runs its commands on its machine (`home` is a
                path there). Example: https://tracker.example:7444.
            errors (list[str] | Unset): What went wrong, one line each.
            health (None | Outcome | Unset):
            health_attempts (int | Unset): Runs of the health command after the last start.
            healthy_at (datetime.datetime | None | Unset): When its health command first exited 0 (after the last start).
            restarted (bool | Unset): It was started again after a rollback (its pre-restore data back in place).
            start (None | Outcome | Unset):
            started_at (datetime.datetime | None | Unset): When its start command ended successfully (the last start).
            stop (None | Outcome | Unset):
            stopped_at (datetime.datetime | None | Unset): When its stop command ended successfully.
    """

    component: str
    home: str
    settings: Lifecycle
    state: LifecycleState
    agent: None | str | Unset = UNSET
    errors: list[str] | Unset = UNSET
    health: None | Outcome | Unset = UNSET
    health_attempts: int | Unset = UNSET
    healthy_at: datetime.datetime | None | Unset = UNSET
    restarted: bool | Unset = UNSET
    start: None | Outcome | Unset = UNSET
    started_at: datetime.datetime | None | Unset = UNSET
    stop: None | Outcome | Unset = UNSET
    stopped_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.outcome import Outcome  # noqa: PLC0415

        component = self.component

        home = self.home

        settings = self.settings.to_dict()

        state = self.state.value

        agent: None | str | Unset
        if isinstance(self.agent, Unset):
            agent = UNSET
        else:
            agent = self.agent

        errors: list[str] | Unset = UNSET
        if not isinstance(self.errors, Unset):
            errors = self.errors

        health: dict[str, Any] | None | Unset
        if isinstance(self.health, Unset):
            health = UNSET
        elif isinstance(self.health, Outcome):
            health = self.health.to_dict()
        else:
            health = self.health

        health_attempts = self.health_attempts

        healthy_at: None | str | Unset
        if isinstance(self.healthy_at, Unset):
            healthy_at = UNSET
        elif isinstance(self.healthy_at, datetime.datetime):
            healthy_at = self.healthy_at.isoformat()
        else:
            healthy_at = self.healthy_at

        restarted = self.restarted

        start: dict[str, Any] | None | Unset
        if isinstance(self.start, Unset):
            start = UNSET
        elif isinstance(self.start, Outcome):
            start = self.start.to_dict()
        else:
            start = self.start

        started_at: None | str | Unset
        if isinstance(self.started_at, Unset):
            started_at = UNSET
        elif isinstance(self.started_at, datetime.datetime):
            started_at = self.started_at.isoformat()
        else:
            started_at = self.started_at

        stop: dict[str, Any] | None | Unset
        if isinstance(self.stop, Unset):
            stop = UNSET
        elif isinstance(self.stop, Outcome):
            stop = self.stop.to_dict()
        else:
            stop = self.stop

        stopped_at: None | str | Unset
        if isinstance(self.stopped_at, Unset):
            stopped_at = UNSET
        elif isinstance(self.stopped_at, datetime.datetime):
            stopped_at = self.stopped_at.isoformat()
        else:
            stopped_at = self.stopped_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "component": component,
                "home": home,
                "settings": settings,
                "state": state,
            }
        )
        if agent is not UNSET:
            field_dict["agent"] = agent
        if errors is not UNSET:
            field_dict["errors"] = errors
        if health is not UNSET:
            field_dict["health"] = health
        if health_attempts is not UNSET:
            field_dict["health_attempts"] = health_attempts
        if healthy_at is not UNSET:
            field_dict["healthy_at"] = healthy_at
        if restarted is not UNSET:
            field_dict["restarted"] = restarted
        if start is not UNSET:
            field_dict["start"] = start
        if started_at is not UNSET:
            field_dict["started_at"] = started_at
        if stop is not UNSET:
            field_dict["stop"] = stop
        if stopped_at is not UNSET:
            field_dict["stopped_at"] = stopped_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.lifecycle import Lifecycle  # noqa: PLC0415
        from ..models.outcome import Outcome  # noqa: PLC0415

        d = dict(src_dict)
        component = d.pop("component")

        home = d.pop("home")

        settings = Lifecycle.from_dict(d.pop("settings"))

        state = LifecycleState(d.pop("state"))

        def _parse_agent(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        agent = _parse_agent(d.pop("agent", UNSET))

        errors = cast(list[str], d.pop("errors", UNSET))

        def _parse_health(data: object) -> None | Outcome | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                health_type_1 = Outcome.from_dict(data)

                return health_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Outcome | Unset, data)

        health = _parse_health(d.pop("health", UNSET))

        health_attempts = d.pop("health_attempts", UNSET)

        def _parse_healthy_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                healthy_at_type_0 = datetime.datetime.fromisoformat(data)

                return healthy_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        healthy_at = _parse_healthy_at(d.pop("healthy_at", UNSET))

        restarted = d.pop("restarted", UNSET)

        def _parse_start(data: object) -> None | Outcome | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                start_type_1 = Outcome.from_dict(data)

                return start_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Outcome | Unset, data)

        start = _parse_start(d.pop("start", UNSET))

        def _parse_started_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                started_at_type_0 = datetime.datetime.fromisoformat(data)

                return started_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        started_at = _parse_started_at(d.pop("started_at", UNSET))

        def _parse_stop(data: object) -> None | Outcome | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                stop_type_1 = Outcome.from_dict(data)

                return stop_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | Outcome | Unset, data)

        stop = _parse_stop(d.pop("stop", UNSET))

        def _parse_stopped_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                stopped_at_type_0 = datetime.datetime.fromisoformat(data)

                return stopped_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        stopped_at = _parse_stopped_at(d.pop("stopped_at", UNSET))

        component_lifecycle = cls(
            component=component,
            home=home,
            settings=settings,
            state=state,
            agent=agent,
            errors=errors,
            health=health,
            health_attempts=health_attempts,
            healthy_at=healthy_at,
            restarted=restarted,
            start=start,
            started_at=started_at,
            stop=stop,
            stopped_at=stopped_at,
        )

        component_lifecycle.additional_properties = d
        return component_lifecycle

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
