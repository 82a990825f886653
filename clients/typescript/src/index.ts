/**
 * TypeScript client for the backup-master HTTP API.
 *
 * `schema.ts` is generated from openapi/openapi.json by openapi-typescript (clients/generate.sh);
 * requests go through openapi-fetch, which types every path, parameter, body and response from it.
 * This file only adds a constructor that sets the base URL and the bearer token.
 */
import createClient, { type Client, type ClientOptions } from "openapi-fetch";

import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };

/** Schemas by name, e.g. `Schema<"BackupRecord">`. */
export type Schema<Name extends keyof components["schemas"]> = components["schemas"][Name];

export type BackupMasterClient = Client<paths>;

/**
 * A client for the server at `baseUrl` (e.g. `http://127.0.0.1:8080`), sending
 * `Authorization: Bearer <token>` with every request.
 */
export function createBackupMasterClient(
  baseUrl: string,
  token: string,
  options: Omit<ClientOptions, "baseUrl"> = {},
): BackupMasterClient {
  const headers = new Headers(options.headers as HeadersInit | undefined);
  headers.set("Authorization", `Bearer ${token}`);
  return createClient<paths>({ ...options, baseUrl: baseUrl.replace(/\/+$/, ""), headers });
}
