// Who the app calls the service as, and where the service is. Kept in localStorage so a reload
// (or a new tab) stays signed in.

export type Identity =
  | { kind: "user"; userId: string } // Development: the service trusts the x-user-id header.
  | { kind: "token"; token: string }; // Production: a bearer token from the product's identity provider.

export interface Session {
  /** The service's HTTP (gRPC-Web) address, e.g. https://chat-api.example.com. */
  baseUrl: string;
  identity: Identity;
}

const storageKey = "chatservice.session";

/** Where the service is when the user has not said: the build's VITE_CHAT_API_URL, else this page's origin. */
export function defaultBaseUrl(): string {
  const configured = import.meta.env.VITE_CHAT_API_URL as string | undefined;
  return configured && configured.length > 0 ? configured : window.location.origin;
}

export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(storageKey);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Session;
    if (typeof parsed.baseUrl !== "string" || !parsed.identity) return null;
    return parsed;
  } catch {
    return null;
  }
}

export function saveSession(session: Session): void {
  localStorage.setItem(storageKey, JSON.stringify(session));
}

export function clearSession(): void {
  localStorage.removeItem(storageKey);
}

/** How the header names the caller. */
export function describeIdentity(identity: Identity): string {
  return identity.kind === "user" ? identity.userId : "token " + identity.token.slice(0, 8) + "…";
}
