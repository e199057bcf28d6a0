// One chat: its history (older pages on demand), the composer, reply streams that grow token by
// token, swipes, cancel, group replies, and the shaping operations (edit, rewind, delete, fork,
// rate, pin). A reload in the middle of a reply resumes it where this tab last saw it.

import type { CallOptions } from "@connectrpc/connect";
import { App, requestId } from "./app";
import { button, h, replaceChildren } from "./dom";
import { AuthorRole, SpeakerStrategy, TurnState, type Candidate, type Chat, type ReplyEvent, type Turn } from "./gen/chat/v1/chat_pb";
import { follow, forgetProgress, loadProgress, replyKey, type ReplyListener, type ReplyProgress } from "./replies";

const historyPageSize = 30;

interface TurnView {
  turn: Turn;
  element: HTMLElement;
  /** The turn's candidates, once the user flips through them (ListCandidates). */
  candidates: Candidate[] | null;
  /** Which of `candidates` is shown. */
  shown: number;
  /** Open while the user edits the turn. */
  editing: boolean;
}

/** The speaker strategies a group chat may use, as the select lists them. */
const speakerStrategies: [SpeakerStrategy, string][] = [
  [SpeakerStrategy.ROTATION, "Rotation"],
  [SpeakerStrategy.LIST, "List order (everyone)"],
  [SpeakerStrategy.NATURAL, "Natural (mentions, talkativeness)"],
];

const stateNames: Record<TurnState, string> = {
  [TurnState.UNSPECIFIED]: "unspecified",
  [TurnState.PENDING]: "pending",
  [TurnState.STREAMING]: "streaming",
  [TurnState.COMPLETE]: "complete",
  [TurnState.FAILED]: "failed",
  [TurnState.CANCELLED]: "cancelled",
  [TurnState.FILTERED]: "filtered",
};

function isOpen(state: TurnState): boolean {
  return state === TurnState.PENDING || state === TurnState.STREAMING;
}

export class ChatView {
  readonly element: HTMLElement;
  private chat!: Chat;
  private readonly names = new Map<string, string>();
  private readonly views = new Map<bigint, TurnView>();
  private readonly turnList = h("div", { class: "turns", id: "turns" });
  private readonly older = h("div", { class: "older" });
  private readonly header = h("header", { class: "chat-header" });
  private readonly notice = h("div", { class: "notice", id: "notice", hidden: true });
  private readonly composer = h("form", { class: "composer", id: "composer" });
  private readonly message = h("textarea", { id: "message", rows: 2, placeholder: "Message", maxlength: 8192 });
  private readonly repliers = h("div", { class: "repliers" });
  private readonly cancelButton = button("Cancel reply", () => this.cancelOpenReplies(), { id: "cancel", disabled: true });
  private readonly lifetime = new AbortController();
  private readonly call: CallOptions = { signal: this.lifetime.signal };
  /** Replies this view follows with StreamReply, so a reload of the history does not follow one twice. */
  private readonly following = new Set<string>();
  /** The message being sent and its idempotency key: a retry after a failure sends the same key. */
  private sending: { text: string; requestId: string } | null = null;

  constructor(
    private readonly app: App,
    private readonly chatId: string,
    private readonly onActivity: () => void,
    private readonly openChat: (chatId: string) => void,
  ) {
    this.element = h("section", { class: "chat", "data-chat-id": chatId }, this.header, this.older, this.turnList, this.notice, this.composer);
    this.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.send();
    });
    this.message.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        void this.send();
      }
    });
  }

  /** Reads the chat and its newest turns, and resumes the replies still being generated. */
  async load(): Promise<void> {
    await this.app.attempt(async () => {
      this.chat = await this.app.client.getChat({ chatId: this.chatId }, this.call);
      for (const characterId of this.chat.characterIds) {
        const character = await this.app.character(characterId);
        this.names.set(characterId, character?.displayName ?? characterId);
      }
      this.renderHeader();
      this.renderComposer();
      this.views.clear();
      this.turnList.replaceChildren();
      await this.loadOlder("");
      this.scrollToEnd();
      this.resumeOpenReplies();
    });
  }

  /** Stops this view's streams (the replies themselves go on on the service). */
  close(): void {
    this.lifetime.abort();
  }

  // --- history -------------------------------------------------------------------------------

  private async loadOlder(pageToken: string): Promise<void> {
    const page = await this.app.client.getHistory({ chatId: this.chatId, pageSize: historyPageSize, pageToken }, this.call);
    for (const turn of page.turns) {
      // Newest first: each goes above the ones already shown.
      if (!this.views.has(turn.seq)) this.turnList.prepend(this.createView(turn).element);
    }
    replaceChildren(
      this.older,
      page.nextPageToken && button("Older messages", () => this.app.attempt(() => this.loadOlder(page.nextPageToken)), { id: "older" }),
    );
  }

  private createView(turn: Turn): TurnView {
    if (turn.role === AuthorRole.CHARACTER && !isOpen(turn.state)) {
      // Settled while this tab was away: what it had saved for a resume is no longer needed.
      forgetProgress(replyKey(this.chatId, turn.seq, turn.candidateId));
    }
    const view: TurnView = { turn, element: h("article", { class: "turn" }), candidates: null, shown: 0, editing: false };
    this.views.set(turn.seq, view);
    this.render(view);
    return view;
  }

  /** Adds a turn at the end, or updates the one shown. */
  private upsert(turn: Turn): TurnView {
    const existing = this.views.get(turn.seq);
    if (existing) {
      existing.turn = turn;
      existing.candidates = null;
      existing.editing = false;
      this.render(existing);
      return existing;
    }
    const view = this.createView(turn);
    this.turnList.append(view.element);
    this.scrollToEnd();
    return view;
  }

  private removeTurns(seqs: bigint[]): void {
    for (const seq of seqs) {
      this.views.get(seq)?.element.remove();
      this.views.delete(seq);
    }
  }

  private lastUserSeq(): bigint {
    let last = 0n;
    for (const view of this.views.values()) {
      if (view.turn.role === AuthorRole.USER && view.turn.seq > last) last = view.turn.seq;
    }
    return last;
  }

  // --- rendering -------------------------------------------------------------------------------

  private renderHeader(): void {
    const cast = this.chat.characterIds.map((id) => this.names.get(id) ?? id).join(", ");
    replaceChildren(
      this.header,
      h("h2", { id: "chat-title" }, this.chat.title || "Untitled chat"),
      h("div", { class: "cast-names" }, (this.chat.characterIds.length > 1 ? "Group: " : "With ") + cast),
      this.chat.forkedFrom &&
        h("div", { class: "forked" }, "Forked from ", h("a", { href: "#/chat/" + this.chat.forkedFrom.chatId }, "another chat"), ` at turn ${this.chat.forkedFrom.seq}`),
      h("div", { class: "pins", id: "pins" }, this.chat.pinnedSeqs.length > 0 ? "Pinned: " + this.chat.pinnedSeqs.map((seq) => "#" + seq).join(" ") : ""),
      this.chat.characterIds.length > 1 && this.speakerControls(),
      button("Delete chat", () => this.deleteChat(), { class: "danger" }),
    );
  }

  /** Group chats: how members are picked when the user names nobody, and who is muted (saved with UpdateChat). */
  private speakerControls(): HTMLElement {
    const current = this.chat.speakerStrategy === SpeakerStrategy.UNSPECIFIED ? SpeakerStrategy.ROTATION : this.chat.speakerStrategy;
    const strategy = h("select", { id: "speaker-strategy", "aria-label": "Speaker strategy" },
      ...speakerStrategies.map(([value, label]) => h("option", { value, selected: value === current }, label)),
    );
    const muted = this.chat.characterIds.map((id) =>
      h("input", { type: "checkbox", value: id, name: "muted", checked: this.chat.mutedCharacterIds.includes(id) }),
    );
    return h("div", { class: "speakers", id: "speakers" },
      "Speakers: ", strategy, " Muted: ",
      ...muted.map((input) => h("label", {}, input, " " + (this.names.get(input.value) ?? input.value) + " ")),
      button("Save", () => this.saveSpeakers(Number(strategy.value), muted.filter((input) => input.checked).map((input) => input.value)), { id: "save-speakers" }),
    );
  }

  private async saveSpeakers(speakerStrategy: SpeakerStrategy, mutedCharacterIds: string[]): Promise<void> {
    await this.app.attempt(async () => {
      this.chat = await this.app.client.updateChat(
        { chat: { chatId: this.chatId, speakerStrategy, mutedCharacterIds }, updateMask: { paths: ["speaker_strategy", "muted_character_ids"] } },
        this.call,
      );
      this.renderHeader();
    });
  }

  private renderComposer(): void {
    const group = this.chat.characterIds.length > 1;
    replaceChildren(
      this.repliers,
      group && "Who answers: ",
      ...(group
        ? this.chat.characterIds.map((id) =>
            h("label", {}, h("input", { type: "checkbox", value: id, name: "replier" }), " " + (this.names.get(id) ?? id) + " "),
          )
        : []),
    );
    const talkTurns = h("input", { type: "number", min: 1, max: 10, value: 3, id: "talk-turns", "aria-label": "Turns" });
    replaceChildren(
      this.composer,
      this.repliers,
      this.message,
      h("div", { class: "row" },
        h("button", { type: "submit", id: "send" }, "Send"),
        this.cancelButton,
        group && button("Let them talk", () => this.letThemTalk(Number(talkTurns.value)), { id: "talk" }),
        group && talkTurns,
      ),
    );
  }

  private render(view: TurnView): void {
    const { turn } = view;
    const isCharacter = turn.role === AuthorRole.CHARACTER;
    const browsing = view.candidates?.[view.shown];
    const state = browsing?.state ?? turn.state;
    const text = browsing?.text ?? turn.text;
    const failure = browsing ? browsing.failureReason : turn.failureReason;
    const rating = browsing ? browsing.rating : turn.rating;
    const author = isCharacter ? (this.names.get(turn.characterId) ?? "Character") : "You";
    // Flipped to a candidate that is not the primary one: only choosing it (or rating it) applies to
    // it; editing, stopping and regenerating act on the primary, so they wait until it is chosen.
    const browsingOther = browsing !== undefined && !browsing.primary;
    const pinned = this.chat.pinnedSeqs.includes(turn.seq);

    view.element.className = "turn " + (isCharacter ? "character" : "user");
    view.element.dataset.seq = String(turn.seq);
    view.element.dataset.role = isCharacter ? "character" : "user";
    view.element.dataset.state = stateNames[state] ?? "unknown"; // a state newer than this build

    const body = view.editing ? this.editor(view, text) : h("div", { class: "turn-text" }, text);
    replaceChildren(
      view.element,
      h("div", { class: "turn-meta" },
        h("strong", { class: "author" }, author),
        ` #${turn.seq}`,
        pinned && h("span", { class: "badge pinned" }, "pinned"),
        (browsing ? browsing.edited : turn.edited) && h("span", { class: "badge" }, "edited"),
        isOpen(state) && h("span", { class: "badge live" }, state === TurnState.PENDING ? "waiting" : "writing…"),
      ),
      body,
      state === TurnState.FAILED && h("div", { class: "failure" }, "Reply failed: " + (failure || "no reason given")),
      state === TurnState.CANCELLED && h("div", { class: "failure" }, "Stopped" + (failure ? ": " + failure : "")),
      state === TurnState.FILTERED && h("div", { class: "failure" }, "Withheld by moderation" + (failure ? ": " + failure : "")),
      isCharacter && this.swipeControls(view),
      isCharacter && this.ratingControls(view, rating?.stars ?? 0),
      !browsingOther && h("div", { class: "actions" }, ...this.actions(view)),
      h("div", { class: "revisions" }),
    );
  }

  private swipeControls(view: TurnView): HTMLElement | null {
    const count = view.candidates?.length ?? view.turn.candidateCount;
    if (count < 2) return null;
    const index = view.candidates ? view.shown : -1;
    const shownIsPrimary = !view.candidates || view.candidates[view.shown].primary;
    // A filtered candidate cannot be selected (the service refuses it): no button to offer.
    const shownIsFiltered = view.candidates?.[view.shown]?.state === TurnState.FILTERED;
    return h("div", { class: "swipes" },
      button("‹", () => this.flip(view, -1), { class: "swipe-prev", "aria-label": "Previous candidate" }),
      h("span", { class: "swipe-position" }, index >= 0 ? `${index + 1}/${count}` : `${count} replies`),
      button("›", () => this.flip(view, +1), { class: "swipe-next", "aria-label": "Next candidate" }),
      !shownIsPrimary && !shownIsFiltered && button("Use this reply", () => this.select(view), { class: "select" }),
    );
  }

  private ratingControls(view: TurnView, stars: number): HTMLElement {
    return h("div", { class: "rating" },
      ...[1, 2, 3, 4].map((value) =>
        button(value <= stars ? "★" : "☆", () => this.rate(view, value), { class: "star", "aria-label": `Rate ${value} of 4`, title: `${value} of 4` }),
      ),
    );
  }

  private actions(view: TurnView): Node[] {
    const { turn } = view;
    const state = turn.state;
    const isCharacter = turn.role === AuthorRole.CHARACTER;
    const pinned = this.chat.pinnedSeqs.includes(turn.seq);
    const actions: Node[] = [];
    if (isCharacter && isOpen(state)) actions.push(button("Stop", () => this.cancel(turn.seq, turn.candidateId), { class: "stop" }));
    if (isCharacter && !isOpen(state)) actions.push(button("Regenerate", () => this.regenerate(turn.seq), { class: "regenerate" }));
    // A filtered turn has no text to edit, and the service refuses the edit.
    if (!isOpen(state) && state !== TurnState.FILTERED) actions.push(button("Edit", () => this.setEditing(view, true), { class: "edit" }));
    if (turn.edited) actions.push(button("Earlier versions", () => this.showRevisions(view), { class: "show-revisions" }));
    actions.push(
      button(pinned ? "Unpin" : "Pin", () => this.pin(turn.seq, !pinned), { class: "pin" }),
      button("Rewind to here", () => this.rewind(turn.seq), { class: "rewind" }),
      button("Fork from here", () => this.fork(turn.seq), { class: "fork" }),
      button("Delete", () => this.deleteTurn(turn.seq), { class: "delete" }),
    );
    return actions;
  }

  private editor(view: TurnView, text: string): HTMLElement {
    const field = h("textarea", { class: "edit-text", rows: 3 });
    field.value = text;
    const isLastUserTurn = view.turn.role === AuthorRole.USER && view.turn.seq === this.lastUserSeq();
    return h("div", { class: "editor" },
      field,
      h("div", { class: "row" },
        button("Save", () => this.saveEdit(view, field.value, false), { class: "save-edit" }),
        isLastUserTurn && button("Save and regenerate", () => this.saveEdit(view, field.value, true), { class: "save-regenerate" }),
        button("Cancel", () => this.setEditing(view, false)),
      ),
    );
  }

  private setEditing(view: TurnView, editing: boolean): void {
    view.editing = editing;
    this.render(view);
  }

  private scrollToEnd(): void {
    this.turnList.lastElementChild?.scrollIntoView({ block: "end" });
  }

  // --- reply streams -------------------------------------------------------------------------

  private readonly listener: ReplyListener = {
    accepted: (userTurn, pendingTurns) => {
      if (userTurn) this.upsert(userTurn);
      for (const turn of pendingTurns) this.upsert(turn);
      this.updateCancel();
    },
    text: (_chatId, seq, candidateId, text) => {
      const view = this.views.get(seq);
      if (!view) return;
      const candidate = view.candidates?.find((c) => c.candidateId === candidateId);
      if (candidate) candidate.text = text;
      if (view.turn.candidateId !== candidateId || !isOpen(view.turn.state)) return; // Ended: its stored text stands.
      view.turn.text = text;
      if (view.turn.state === TurnState.PENDING) {
        view.turn.state = TurnState.STREAMING;
        this.render(view);
      } else if (!view.editing && (!view.candidates || view.candidates[view.shown].candidateId === candidateId)) {
        // Only the text changes while a reply streams: no re-render per token.
        const element = view.element.querySelector(".turn-text");
        if (element) element.textContent = text;
      }
      this.scrollToEnd();
    },
    settled: (turn) => {
      const view = this.views.get(turn.seq);
      if (!view) {
        // Not on the page (rewound or deleted meanwhile, e.g. cancelled by a rewind): stays off it.
      } else if (turn.hidden) {
        this.removeTurns([turn.seq]);
      } else if (view.turn.candidateId === turn.candidateId) {
        this.upsert(turn);
      } else if (view.candidates) {
        view.candidates = null; // A candidate that is not the primary one ended: reread when flipped to.
        this.render(view);
      }
      this.updateCancel();
    },
  };

  /** Follows one stream; its failure is shown, a reply already recorded goes on regardless. */
  private async stream(events: AsyncIterable<ReplyEvent>, resumeFrom?: Map<string, ReplyProgress>, onAccepted?: () => void): Promise<void> {
    const listener: ReplyListener = onAccepted
      ? { ...this.listener, accepted: (...args) => (this.listener.accepted(...args), onAccepted()) }
      : this.listener;
    try {
      await follow(events, listener, resumeFrom);
    } catch (error) {
      this.app.showProblem(error);
    } finally {
      this.updateCancel();
      this.onActivity();
    }
  }

  /** After a load: every reply still pending or streaming is followed from where this tab last saw it. */
  private resumeOpenReplies(): void {
    for (const view of this.views.values()) {
      const { turn } = view;
      if (turn.role !== AuthorRole.CHARACTER || !isOpen(turn.state)) continue;
      const key = replyKey(this.chatId, turn.seq, turn.candidateId);
      if (this.following.has(key)) continue;
      this.following.add(key);
      const progress = loadProgress(key);
      if (progress) {
        view.turn.text = progress.text;
        this.render(view);
      }
      const events = this.app.client.streamReply(
        { chatId: this.chatId, seq: turn.seq, candidateId: turn.candidateId, afterSequence: progress?.sequence ?? 0n },
        this.call,
      );
      void this.stream(events, progress ? new Map([[key, { ...progress }]]) : undefined).finally(() => this.following.delete(key));
    }
    this.updateCancel();
  }

  private updateCancel(): void {
    this.cancelButton.disabled = ![...this.views.values()].some((view) => view.turn.role === AuthorRole.CHARACTER && isOpen(view.turn.state));
  }

  // --- actions ---------------------------------------------------------------------------------

  private async send(): Promise<void> {
    const text = this.message.value.trim();
    if (text.length === 0) return;
    if (this.sending?.text !== text) this.sending = { text, requestId: requestId() };
    const replyCharacterIds = [...this.repliers.querySelectorAll<HTMLInputElement>("input:checked")].map((input) => input.value);
    this.app.clearProblem();
    const events = this.app.client.sendMessage({ chatId: this.chatId, text, requestId: this.sending.requestId, replyCharacterIds }, this.call);
    const sent = this.sending;
    // The composer is cleared once the message is recorded (Accepted); until then a retry resends it
    // with the same key, so the service records it once however often it is sent.
    await this.stream(events, undefined, () => {
      if (this.message.value.trim() === sent.text) this.message.value = "";
      if (this.sending === sent) this.sending = null;
    });
  }

  private async letThemTalk(turns: number): Promise<void> {
    await this.app.attempt(async () => {
      await this.stream(this.app.client.continueChat({ chatId: this.chatId, turns, requestId: requestId() }, this.call));
    });
  }

  private async regenerate(seq: bigint): Promise<void> {
    this.app.clearProblem();
    await this.stream(this.app.client.regenerate({ chatId: this.chatId, seq, requestId: requestId() }, this.call));
  }

  private async cancel(seq: bigint, candidateId: string): Promise<void> {
    await this.app.attempt(async () => {
      const turn = await this.app.client.cancelReply({ chatId: this.chatId, seq, candidateId }, this.call);
      this.listener.settled(turn);
    });
  }

  private async cancelOpenReplies(): Promise<void> {
    const open = [...this.views.values()].filter((view) => view.turn.role === AuthorRole.CHARACTER && isOpen(view.turn.state));
    await Promise.all(open.map((view) => this.cancel(view.turn.seq, view.turn.candidateId)));
  }

  private async flip(view: TurnView, step: number): Promise<void> {
    await this.app.attempt(async () => {
      if (!view.candidates) {
        const { candidates } = await this.app.client.listCandidates({ chatId: this.chatId, seq: view.turn.seq }, this.call);
        // Storage has a candidate once it settles: one this page is streaming keeps the text shown so far.
        const live = candidates.find((candidate) => candidate.candidateId === view.turn.candidateId);
        if (live && isOpen(view.turn.state)) {
          live.text = view.turn.text;
          live.state = view.turn.state;
        }
        view.candidates = candidates;
        view.shown = Math.max(0, candidates.findIndex((candidate) => candidate.primary));
      }
      const count = view.candidates.length;
      view.shown = (view.shown + step + count) % count;
      this.render(view);
    });
  }

  private async select(view: TurnView): Promise<void> {
    const candidate = view.candidates?.[view.shown];
    if (!candidate) return;
    await this.app.attempt(async () => {
      const turn = await this.app.client.selectCandidate({ chatId: this.chatId, seq: view.turn.seq, candidateId: candidate.candidateId }, this.call);
      this.upsert(turn);
    });
  }

  private async rate(view: TurnView, stars: number): Promise<void> {
    const candidateId = view.candidates?.[view.shown]?.candidateId ?? view.turn.candidateId;
    await this.app.attempt(async () => {
      const rating = await this.app.client.rateCandidate({ chatId: this.chatId, seq: view.turn.seq, candidateId, stars }, this.call);
      const candidate = view.candidates?.find((c) => c.candidateId === candidateId);
      if (candidate) candidate.rating = rating;
      if (candidateId === view.turn.candidateId) view.turn.rating = rating;
      this.render(view);
    });
  }

  private async saveEdit(view: TurnView, text: string, regenerate: boolean): Promise<void> {
    const request = { chatId: this.chatId, seq: view.turn.seq, text: text.trim(), requestId: requestId() };
    if (regenerate) {
      view.editing = false;
      this.app.clearProblem();
      await this.stream(this.app.client.editAndRegenerate(request, this.call));
      return;
    }
    await this.app.attempt(async () => {
      const turn = await this.app.client.editTurn(request, this.call);
      view.editing = false;
      this.upsert(turn);
    });
  }

  private async showRevisions(view: TurnView): Promise<void> {
    await this.app.attempt(async () => {
      const { revisions } = await this.app.client.listTurnRevisions({ chatId: this.chatId, seq: view.turn.seq }, this.call);
      const list = view.element.querySelector(".revisions");
      if (list) {
        replaceChildren(list, h("ol", {}, ...revisions.map((revision) => h("li", {}, revision.text))));
      }
    });
  }

  private async pin(seq: bigint, pin: boolean): Promise<void> {
    await this.app.attempt(async () => {
      this.chat = pin
        ? await this.app.client.pinTurn({ chatId: this.chatId, seq }, this.call)
        : await this.app.client.unpinTurn({ chatId: this.chatId, seq }, this.call);
      this.renderHeader();
      for (const view of this.views.values()) this.render(view);
    });
  }

  private async rewind(toSeq: bigint): Promise<void> {
    await this.app.attempt(async () => {
      const { hiddenSeqs } = await this.app.client.rewindChat({ chatId: this.chatId, toSeq, requestId: requestId() }, this.call);
      this.hidden(hiddenSeqs, `Rewound to #${toSeq}`);
    });
  }

  private async deleteTurn(seq: bigint): Promise<void> {
    await this.app.attempt(async () => {
      const { hiddenSeqs } = await this.app.client.deleteTurns({ chatId: this.chatId, seqs: [seq] }, this.call);
      this.hidden(hiddenSeqs, `Deleted #${seq}`);
    });
  }

  /** Takes hidden turns off the page and offers to bring them back. */
  private hidden(seqs: bigint[], what: string): void {
    this.removeTurns(seqs);
    this.updateCancel();
    if (seqs.length === 0) return;
    replaceChildren(
      this.notice,
      `${what}: ${seqs.length} turn${seqs.length === 1 ? "" : "s"} hidden. `,
      button("Restore", () => this.restore(seqs), { id: "restore" }),
    );
    this.notice.hidden = false;
    this.onActivity();
  }

  private async restore(seqs: bigint[]): Promise<void> {
    await this.app.attempt(async () => {
      await this.app.client.restoreTurns({ chatId: this.chatId, seqs }, this.call);
      this.notice.hidden = true;
      await this.load();
    });
  }

  private async fork(atSeq: bigint): Promise<void> {
    await this.app.attempt(async () => {
      const chat = await this.app.client.forkChat({ chatId: this.chatId, atSeq, requestId: requestId() }, this.call);
      this.onActivity();
      this.openChat(chat.chatId);
    });
  }

  private async deleteChat(): Promise<void> {
    if (!window.confirm("Delete this chat and all of its messages?")) return;
    await this.app.attempt(async () => {
      await this.app.client.deleteChat({ chatId: this.chatId }, this.call);
      this.onActivity();
      window.location.hash = "#/";
    });
  }
}
