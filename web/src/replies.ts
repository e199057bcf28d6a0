// Reply streams: folds ReplyEvents into per-reply text, and remembers how far each reply was seen
// so a reload resumes it with StreamReply(after_sequence) instead of starting over.

import type { ReplyEvent, Turn } from "./gen/chat/v1/chat_pb";

/** A reply is one candidate of one character turn. */
export function replyKey(chatId: string, seq: bigint, candidateId: string): string {
  return `${chatId}/${seq}/${candidateId}`;
}

/** How far a reply was seen: its last event sequence and the text it had built. */
export interface ReplyProgress {
  sequence: bigint;
  text: string;
}

const progressPrefix = "chatservice.reply.";

/** Progress of a reply that was still streaming when the page went away (this tab only). */
export function loadProgress(key: string): ReplyProgress | null {
  const raw = sessionStorage.getItem(progressPrefix + key);
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as { sequence: string; text: string };
    return { sequence: BigInt(parsed.sequence), text: parsed.text };
  } catch {
    return null;
  }
}

function saveProgress(key: string, progress: ReplyProgress): void {
  sessionStorage.setItem(progressPrefix + key, JSON.stringify({ sequence: progress.sequence.toString(), text: progress.text }));
}

export function forgetProgress(key: string): void {
  sessionStorage.removeItem(progressPrefix + key);
}

/** What the view is told as a stream goes on. */
export interface ReplyListener {
  /** The request was recorded: the user's turn (SendMessage) and the owed replies. */
  accepted(userTurn: Turn | undefined, pendingTurns: Turn[], duplicate: boolean): void;
  /** A reply's text so far (after a delta, or reset by a restart). */
  text(chatId: string, seq: bigint, candidateId: string, text: string): void;
  /** A reply ended (completed, failed or cancelled): the stored turn. */
  settled(turn: Turn, failure?: { code: string; reason: string }): void;
}

/**
 * Reads a reply stream to its end, telling the listener what changes. Texts start from
 * `resumeFrom` for replies resumed after a reload. Returns when the stream ends.
 */
export async function follow(
  events: AsyncIterable<ReplyEvent>,
  listener: ReplyListener,
  resumeFrom?: Map<string, ReplyProgress>,
): Promise<void> {
  const replies = new Map<string, ReplyProgress>(resumeFrom);
  for await (const event of events) {
    const key = replyKey(event.chatId, event.seq, event.candidateId);
    const reply = replies.get(key) ?? { sequence: 0n, text: "" };
    if (event.sequence <= reply.sequence && event.event.case !== "completed" && event.event.case !== "failed") {
      continue; // Already seen (a resume that overlaps what this page showed).
    }
    reply.sequence = event.sequence;
    replies.set(key, reply);
    switch (event.event.case) {
      case "accepted":
        listener.accepted(event.event.value.userTurn, event.event.value.pendingTurns, event.event.value.duplicate);
        break;
      case "started":
        break;
      case "delta":
        reply.text += event.event.value.text;
        saveProgress(key, reply);
        listener.text(event.chatId, event.seq, event.candidateId, reply.text);
        break;
      case "restarted":
        reply.text = "";
        saveProgress(key, reply);
        listener.text(event.chatId, event.seq, event.candidateId, reply.text);
        break;
      case "completed":
        forgetProgress(key);
        if (event.event.value.turn) listener.settled(event.event.value.turn);
        break;
      case "failed":
        forgetProgress(key);
        if (event.event.value.turn) {
          listener.settled(event.event.value.turn, { code: event.event.value.code, reason: event.event.value.reason });
        }
        break;
    }
  }
}
