// The page's requests to the server it was served from (same origin; the CSP allows nothing else).

/** The JSON body of GET `path`, or undefined when the server answers an error or cannot be reached. */
export async function getJson<T>(path: string): Promise<T | undefined> {
  try {
    const response = await fetch(path, { headers: { accept: "application/json" } });
    if (!response.ok) return undefined;
    return (await response.json()) as T;
  } catch {
    return undefined;
  }
}
