// The typed client of chat.v1.ChatService over gRPC-Web, and plain-language errors.

import { createClient, type Client, type Interceptor, Code, ConnectError } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { ChatService } from "./gen/chat/v1/chat_pb";
import { RetryInfoSchema } from "./gen/google/rpc/error_details_pb";
import type { Session } from "./session";

export type ChatClient = Client<typeof ChatService>;

/** A client that calls as the session's identity. */
export function createChatClient(session: Session): ChatClient {
  const identify: Interceptor = (next) => async (request) => {
    if (session.identity.kind === "user") {
      request.header.set("x-user-id", session.identity.userId);
    } else {
      request.header.set("authorization", "Bearer " + session.identity.token);
    }
    return next(request);
  };
  const transport = createGrpcWebTransport({ baseUrl: session.baseUrl, interceptors: [identify] });
  return createClient(ChatService, transport);
}

/** What went wrong, for a person: the status, the service's message and, when it says, when to retry. */
export interface Problem {
  code: string;
  message: string;
  retryAfterMs?: number;
}

export function describeProblem(error: unknown): Problem {
  const connectError = ConnectError.from(error);
  const problem: Problem = { code: codeName(connectError.code), message: connectError.rawMessage };
  const [retry] = connectError.findDetails(RetryInfoSchema);
  if (retry?.retryDelay) problem.retryAfterMs = durationMs(retry.retryDelay);
  return problem;
}

/** True when the error is the app's own abort (leaving a chat), not something to show. */
export function isAbort(error: unknown): boolean {
  return ConnectError.from(error).code === Code.Canceled;
}

/** Problem as one line: "RESOURCE_EXHAUSTED: too many messages; retry in 12 s". */
export function problemText(problem: Problem): string {
  const retry = problem.retryAfterMs === undefined ? "" : `; retry in ${Math.max(1, Math.ceil(problem.retryAfterMs / 1000))} s`;
  return `${problem.code}: ${problem.message}${retry}`;
}

function codeName(code: Code): string {
  // Code is a numeric enum: its reverse mapping gives "ResourceExhausted"; gRPC spells it RESOURCE_EXHAUSTED.
  return (Code[code] ?? String(code)).replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}
