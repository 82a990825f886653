from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.on_change import OnChange
from ..models.snapshot_mode import SnapshotMode
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.in_doubt import InDoubt


T = TypeVar("T", bound="ComponentView")


@_attrs_define
class ComponentView:
    """A component as the API shows it.

    Attributes:
        freeze_command (str): Command that makes the component's files consistent and keeps them so until the thaw;
            empty: none. Example: /opt/maestro/bin/lui-ctl freeze.
        freeze_timeout_seconds (int): Seconds after which the freeze (and each thaw or snapshot command) is killed, 1 to
            3600. Example: 60.
        on_change (OnChange): What a file that still changes after the copy's retries does to a backup (`on_change`).
        snapshot (SnapshotMode): Where a component's copy reads from (`snapshot`).
        snapshot_command (str): With `snapshot = "command"`: prints the path of a read-only view of the home on its last
            line; empty otherwise.
        snapshot_release_command (str): With `snapshot = "command"`: releases that view; empty otherwise.
        thaw_command (str): Command that lets the component write again; empty: none. Needs a `freeze_command`. Example:
            /opt/maestro/bin/lui-ctl thaw.
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
        backup_folder (str): The backup folder as configured: absolute, or relative to the home. Example: backup.
        drill_probe_command (str): Command a restore drill runs against the restored copy (`DRILL_HOME`); empty: none.
            Example: /opt/maestro/bin/lui-check --data $DRILL_HOME.
        items (list[str]): What a backup holds, relative to the home.
        keep (int): Previous backups kept: `backup1` .. `backup<keep>`. Example: 3.
        location (str): `local` (a home on this machine) or `remote` (served by an agent). Example: local.
        name (str):  Example: lui.
        profile (str): `maestro-hub`, `maestro-lui`, `maestro-tracker` or `custom`. Example: maestro-lui.
        agent (None | str | Unset): The agent's URL (remote components). Example: http://10.0.0.7:9090.
        agent_error (None | str | Unset): Remote components: why backups through the agent cannot work right now
            (unreachable,
            token refused, component not served). Absent when all is well.
        agent_version (None | str | Unset): Remote components: the agent's version, when it answered. Example: 0.1.0.
        backup_path (None | str | Unset): The backup folder resolved to an absolute path (local components).
        drill_path (None | str | Unset): Where restore drills put this component's scratch copies, resolved (local
            components). Example: /srv/drills.
        drill_root (None | str | Unset): The drill root as configured (absolute, or relative to the home); absent: the
            default,
            `drills` beside the backup folder. Example: /srv/drills.
        home (None | str | Unset): The home folder, resolved (local components).
        in_doubt (list[InDoubt] | None | Unset): Remote components whose agent answered: its backups and restores of
            this component
            that are in doubt there (they voted yes and heard nothing from the master for the
            agent's `decision_timeout_seconds`; the master resolves them when it can).
        reachable (bool | None | Unset): Remote components: whether the agent answered just now (each agent is asked
            when the
            component is read, 3 s at most). Absent for local components.
    """

    freeze_command: str
    freeze_timeout_seconds: int
    on_change: OnChange
    snapshot: SnapshotMode
    snapshot_command: str
    snapshot_release_command: str
    thaw_command: str
    health_command: str
    rollback_on_unhealthy: bool
    start_command: str
    start_timeout_seconds: int
    stop_command: str
    backup_folder: str
    drill_probe_command: str
    items: list[str]
    keep: int
    location: str
    name: str
    profile: str
    agent: None | str | Unset = UNSET
    agent_error: None | str | Unset = UNSET
    agent_version: None | str | Unset = UNSET
    backup_path: None | str | Unset = UNSET
    drill_path: None | str | Unset = UNSET
    drill_root: None | str | Unset = UNSET
    home: None | str | Unset = UNSET
    in_doubt: list[InDoubt] | None | Unset = UNSET
    reachable: bool | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        freeze_command = self.freeze_command

        freeze_timeout_seconds = self.freeze_timeout_seconds

        on_change = self.on_change.value

        snapshot = self.snapshot.value

        snapshot_command = self.snapshot_command

        snapshot_release_command = self.snapshot_release_command

        thaw_command = self.thaw_command

        health_command = self.health_command

        rollback_on_unhealthy = self.rollback_on_unhealthy

        start_command = self.start_command

        start_timeout_seconds = self.start_timeout_seconds

        stop_command = self.stop_command

        backup_folder = self.backup_folder

        drill_probe_command = self.drill_probe_command

        items = self.items

        keep = self.keep

        location = self.location

        name = self.name

        profile = self.profile

        agent: None | str | Unset
        if isinstance(self.agent, Unset):
            agent = UNSET
        else:
            agent = self.agent

        agent_error: None | str | Unset
        if isinstance(self.agent_error, Unset):
            agent_error = UNSET
        else:
            agent_error = self.agent_error

        agent_version: None | str | Unset
        if isinstance(self.agent_version, Unset):
            agent_version = UNSET
        else:
            agent_version = self.agent_version

        backup_path: None | str | Unset
        if isinstance(self.backup_path, Unset):
            backup_path = UNSET
        else:
            backup_path = self.backup_path

        drill_path: None | str | Unset
        if isinstance(self.drill_path, Unset):
            drill_path = UNSET
        else:
            drill_path = self.drill_path

        drill_root: None | str | Unset
        if isinstance(self.drill_root, Unset):
            drill_root = UNSET
        else:
            drill_root = self.drill_root

        home: None | str | Unset
        if isinstance(self.home, Unset):
            home = UNSET
        else:
            home = self.home

        in_doubt: list[dict[str, Any]] | None | Unset
        if isinstance(self.in_doubt, Unset):
            in_doubt = UNSET
        elif isinstance(self.in_doubt, list):
            in_doubt = []
            for in_doubt_type_0_item_data in self.in_doubt:
                in_doubt_type_0_item = in_doubt_type_0_item_data.to_dict()
                in_doubt.append(in_doubt_type_0_item)

        else:
            in_doubt = self.in_doubt

        reachable: bool | None | Unset
        if isinstance(self.reachable, Unset):
            reachable = UNSET
        else:
            reachable = self.reachable

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "freeze_command": freeze_command,
                "freeze_timeout_seconds": freeze_timeout_seconds,
                "on_change": on_change,
                "snapshot": snapshot,
                "snapshot_command": snapshot_command,
                "snapshot_release_command": snapshot_release_command,
                "thaw_command": thaw_command,
                "health_command": health_command,
                "rollback_on_unhealthy": rollback_on_unhealthy,
                "start_command": start_command,
                "start_timeout_seconds": start_timeout_seconds,
                "stop_command": stop_command,
                "backup_folder": backup_folder,
                "drill_probe_command": drill_probe_command,
                "items": items,
                "keep": keep,
                "location": location,
                "name": name,
                "profile": profile,
            }
        )
        if agent is not UNSET:
            field_dict["agent"] = agent
        if agent_error is not UNSET:
            field_dict["agent_error"] = agent_error
        if agent_version is not UNSET:
            field_dict["agent_version"] = agent_version
        if backup_path is not UNSET:
            field_dict["backup_path"] = backup_path
        if drill_path is not UNSET:
            field_dict["drill_path"] = drill_path
        if drill_root is not UNSET:
            field_dict["drill_root"] = drill_root
        if home is not UNSET:
            field_dict["home"] = home
        if in_doubt is not UNSET:
            field_dict["in_doubt"] = in_doubt
        if reachable is not UNSET:
            field_dict["reachable"] = reachable

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.in_doubt import InDoubt  # noqa: PLC0415

        d = dict(src_dict)
        freeze_command = d.pop("freeze_command")

        freeze_timeout_seconds = d.pop("freeze_timeout_seconds")

        on_change = OnChange(d.pop("on_change"))

        snapshot = SnapshotMode(d.pop("snapshot"))

        snapshot_command = d.pop("snapshot_command")

        snapshot_release_command = d.pop("snapshot_release_command")

        thaw_command = d.pop("thaw_command")

        health_command = d.pop("health_command")

        rollback_on_unhealthy = d.pop("rollback_on_unhealthy")

        start_command = d.pop("start_command")

        start_timeout_seconds = d.pop("start_timeout_seconds")

        stop_command = d.pop("stop_command")

        backup_folder = d.pop("backup_folder")

        drill_probe_command = d.pop("drill_probe_command")

        items = cast(list[str], d.pop("items"))

        keep = d.pop("keep")

        location = d.pop("location")

        name = d.pop("name")

        profile = d.pop("profile")

        def _parse_agent(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        agent = _parse_agent(d.pop("agent", UNSET))

        def _parse_agent_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        agent_error = _parse_agent_error(d.pop("agent_error", UNSET))

        def _parse_agent_version(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        agent_version = _parse_agent_version(d.pop("agent_version", UNSET))

        def _parse_backup_path(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        backup_path = _parse_backup_path(d.pop("backup_path", UNSET))

        def _parse_drill_path(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        drill_path = _parse_drill_path(d.pop("drill_path", UNSET))

        def _parse_drill_root(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        drill_root = _parse_drill_root(d.pop("drill_root", UNSET))

        def _parse_home(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        home = _parse_home(d.pop("home", UNSET))

        def _parse_in_doubt(data: object) -> list[InDoubt] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                in_doubt_type_0 = []
                _in_doubt_type_0 = data
                for in_doubt_type_0_item_data in _in_doubt_type_0:
                    in_doubt_type_0_item = InDoubt.from_dict(in_doubt_type_0_item_data)

                    in_doubt_type_0.append(in_doubt_type_0_item)

                return in_doubt_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[InDoubt] | None | Unset, data)

        in_doubt = _parse_in_doubt(d.pop("in_doubt", UNSET))

        def _parse_reachable(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        reachable = _parse_reachable(d.pop("reachable", UNSET))

        component_view = cls(
            freeze_command=freeze_command,
            freeze_timeout_seconds=freeze_timeout_seconds,
            on_change=on_change,
            snapshot=snapshot,
            snapshot_command=snapshot_command,
            snapshot_release_command=snapshot_release_command,
            thaw_command=thaw_command,
            health_command=health_command,
            rollback_on_unhealthy=rollback_on_unhealthy,
            start_command=start_command,
            start_timeout_seconds=start_timeout_seconds,
            stop_command=stop_command,
            backup_folder=backup_folder,
            drill_probe_command=drill_probe_command,
            items=items,
            keep=keep,
            location=location,
            name=name,
            profile=profile,
            agent=agent,
            agent_error=agent_error,
            agent_version=agent_version,
            backup_path=backup_path,
            drill_path=drill_path,
            drill_root=drill_root,
            home=home,
            in_doubt=in_doubt,
            reachable=reachable,
        )

        component_view.additional_properties = d
        return component_view

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
