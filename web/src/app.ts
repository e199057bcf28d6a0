// What every view shares: the client, character names, and the problem banner.

import { describeProblem, isAbort, problemText, type ChatClient } from "./api";
import type { Character } from "./gen/chat/v1/chat_pb";

export class App {
  private readonly characters = new Map<string, Promise<Character | null>>();

  constructor(
    readonly client: ChatClient,
    private readonly banner: HTMLElement,
  ) {}

  /** A character by id (the caller's own, or a public one), asked once per page; null when it cannot be read. */
  character(characterId: string): Promise<Character | null> {
    let found = this.characters.get(characterId);
    if (!found) {
      found = this.client.getCharacter({ characterId }).catch(() => null);
      this.characters.set(characterId, found);
    }
    return found;
  }

  /** Remembers a character the page just created or listed, so its name needs no call. */
  knowCharacter(character: Character): void {
    this.characters.set(character.characterId, Promise.resolve(character));
  }

  /** Shows what went wrong, plainly; an abort of the page's own stream is not a problem. */
  showProblem(error: unknown): void {
    if (isAbort(error)) return;
    this.banner.textContent = problemText(describeProblem(error));
    this.banner.hidden = false;
  }

  clearProblem(): void {
    this.banner.hidden = true;
    this.banner.textContent = "";
  }

  /** Runs an action, showing its failure instead of throwing. */
  async attempt(action: () => Promise<void>): Promise<void> {
    this.clearProblem();
    try {
      await action();
    } catch (error) {
      this.showProblem(error);
    }
  }
}

/** A fresh idempotency key for a request that records something (SendMessage, Regenerate, ...). */
export function requestId(): string {
  return crypto.randomUUID();
}
