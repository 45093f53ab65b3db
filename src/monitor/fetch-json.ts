import { BadServerResponseError, ServerUnreachableError } from "./errors.js";

/**
 * GETs `url` from the server at `baseUrl` and returns its parsed JSON body, unchecked (each monitor
 * checks the shape it needs). Throws ServerUnreachableError when nothing answers within `timeoutMs`,
 * BadServerResponseError on an error status or a body that is not JSON.
 */
export async function fetchServerJson(baseUrl: string, url: string, timeoutMs: number): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (cause) {
    throw new ServerUnreachableError(baseUrl, { cause });
  }
  if (!response.ok) throw new BadServerResponseError(url, `HTTP ${response.status}`);
  try {
    return await response.json();
  } catch {
    throw new BadServerResponseError(url, "the body is not JSON");
  }
}
