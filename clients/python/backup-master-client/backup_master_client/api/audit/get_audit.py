import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.audit_page import AuditPage
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    token: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    params["token"] = token

    params["limit"] = limit

    params["cursor"] = cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/audit",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> AuditPage | Problem | None:
    if response.status_code == 200:
        response_200 = AuditPage.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[AuditPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    token: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[AuditPage | Problem]:
    """Read the audit log

     Who changed what (admin): one entry per request under `/api/v1` that is not a GET or HEAD,
    whatever its outcome (401 and 403 too): time, token name and role (null without a valid
    token), method, path (no query string), status, the ID it created, the client's address.
    Oldest first; `since` (inclusive), `until` (exclusive), `token` filter; `limit` per page
    (default 100); pass `next_cursor` as `cursor`, with the same filters, for the next page.
    Entries in files rotated away (beyond the 5 kept) are gone. Changes nothing.

    Args:
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        token (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditPage | Problem]
    """

    kwargs = _get_kwargs(
        since=since,
        until=until,
        token=token,
        limit=limit,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    token: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> AuditPage | Problem | None:
    """Read the audit log

     Who changed what (admin): one entry per request under `/api/v1` that is not a GET or HEAD,
    whatever its outcome (401 and 403 too): time, token name and role (null without a valid
    token), method, path (no query string), status, the ID it created, the client's address.
    Oldest first; `since` (inclusive), `until` (exclusive), `token` filter; `limit` per page
    (default 100); pass `next_cursor` as `cursor`, with the same filters, for the next page.
    Entries in files rotated away (beyond the 5 kept) are gone. Changes nothing.

    Args:
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        token (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditPage | Problem
    """

    return sync_detailed(
        client=client,
        since=since,
        until=until,
        token=token,
        limit=limit,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    token: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> Response[AuditPage | Problem]:
    """Read the audit log

     Who changed what (admin): one entry per request under `/api/v1` that is not a GET or HEAD,
    whatever its outcome (401 and 403 too): time, token name and role (null without a valid
    token), method, path (no query string), status, the ID it created, the client's address.
    Oldest first; `since` (inclusive), `until` (exclusive), `token` filter; `limit` per page
    (default 100); pass `next_cursor` as `cursor`, with the same filters, for the next page.
    Entries in files rotated away (beyond the 5 kept) are gone. Changes nothing.

    Args:
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        token (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[AuditPage | Problem]
    """

    kwargs = _get_kwargs(
        since=since,
        until=until,
        token=token,
        limit=limit,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    token: str | Unset = UNSET,
    limit: int | Unset = UNSET,
    cursor: str | Unset = UNSET,
) -> AuditPage | Problem | None:
    """Read the audit log

     Who changed what (admin): one entry per request under `/api/v1` that is not a GET or HEAD,
    whatever its outcome (401 and 403 too): time, token name and role (null without a valid
    token), method, path (no query string), status, the ID it created, the client's address.
    Oldest first; `since` (inclusive), `until` (exclusive), `token` filter; `limit` per page
    (default 100); pass `next_cursor` as `cursor`, with the same filters, for the next page.
    Entries in files rotated away (beyond the 5 kept) are gone. Changes nothing.

    Args:
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        token (str | Unset):
        limit (int | Unset):
        cursor (str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        AuditPage | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            since=since,
            until=until,
            token=token,
            limit=limit,
            cursor=cursor,
        )
    ).parsed
