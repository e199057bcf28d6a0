// The side panel: characters (own and public, create, import/export), personas, and chats (most
// recent first, paged; a new chat with chosen characters, persona and greeting).

import { timestampDate } from "@bufbuild/protobuf/wkt";
import { App } from "./app";
import { CharacterPanel } from "./characters";
import { button, h, replaceChildren } from "./dom";
import type { Character, Chat } from "./gen/chat/v1/chat_pb";
import { PersonaPanel } from "./personas";

const pageSize = 20;

export class Sidebar {
  readonly element: HTMLElement;
  private readonly chatList = h("ul", { class: "list", id: "chats" });
  private readonly moreChats = h("div");
  private readonly castChoices = h("fieldset", { class: "cast" }, h("legend", {}, "Characters in the new chat"));
  private readonly personaChoice = h("select", { name: "persona", id: "chat-persona", "aria-label": "Persona" });
  private readonly characters: CharacterPanel;
  private readonly personas: PersonaPanel;

  constructor(
    private readonly app: App,
    private readonly openChat: (chatId: string) => void,
  ) {
    this.characters = new CharacterPanel(app, () => this.renderCast(), (character) => this.startChat([character.characterId], ""));
    this.personas = new PersonaPanel(app, () => this.renderPersonaChoice());
    this.element = h(
      "aside",
      { class: "sidebar" },
      this.characters.element,
      this.personas.element,
      h("h2", {}, "Chats"),
      this.chatForm(),
      this.chatList,
      this.moreChats,
    );
  }

  /** Loads the first pages of every list. */
  async refresh(): Promise<void> {
    await this.app.attempt(async () => {
      this.chatList.replaceChildren();
      await Promise.all([this.characters.reload(), this.personas.reload(), this.loadChats("")]);
      // The lists hold their first pages (tests wait for this before counting what is listed).
      this.element.dataset.loaded = "true";
    });
  }

  /** Reloads the chat list (after a send or a fork, its order and previews change). */
  async refreshChats(): Promise<void> {
    // A refresh in the background: it leaves the problem banner to the action the person took.
    try {
      const page = await this.app.client.listChats({ pageSize, pageToken: "" });
      this.chatList.replaceChildren();
      this.showChats(page.chats, page.nextPageToken);
    } catch (error) {
      this.app.showProblem(error);
    }
  }

  /** Marks the open chat in the list. */
  highlight(chatId: string | null): void {
    for (const item of this.chatList.querySelectorAll<HTMLElement>("li")) {
      item.classList.toggle("current", item.dataset.chatId === chatId);
    }
  }

  private async loadChats(pageToken: string): Promise<void> {
    const page = await this.app.client.listChats({ pageSize, pageToken });
    this.showChats(page.chats, page.nextPageToken);
  }

  private showChats(chats: Chat[], nextPageToken: string): void {
    for (const chat of chats) {
      this.chatList.append(this.chatItem(chat));
    }
    replaceChildren(
      this.moreChats,
      nextPageToken && button("More chats", () => this.app.attempt(() => this.loadChats(nextPageToken)), { id: "more-chats" }),
    );
  }

  private chatItem(chat: Chat): HTMLElement {
    const active = chat.lastActiveTime ? timestampDate(chat.lastActiveTime).toLocaleString() : "";
    const item = h(
      "li",
      { "data-chat-id": chat.chatId, class: "chat-item" },
      h("a", { href: "#/chat/" + chat.chatId }, chat.title || "Untitled chat"),
      h("small", {}, active),
      h("div", { class: "preview" }, chat.lastMessagePreview),
    );
    item.addEventListener("click", () => this.openChat(chat.chatId));
    return item;
  }

  private chatForm(): HTMLElement {
    const title = h("input", { name: "title", placeholder: "Title (optional)" });
    const greeting = h("input", { name: "greetingIndex", type: "number", min: 0, value: 0, "aria-label": "Greeting" });
    const form = h(
      "form",
      { class: "stack", id: "new-chat" },
      this.castChoices,
      title,
      h("label", {}, "Persona ", this.personaChoice),
      h("label", {}, "Greeting (0: the first; n: alternate n) ", greeting),
      h("button", { type: "submit" }, "New chat"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const characterIds = [...this.castChoices.querySelectorAll<HTMLInputElement>("input:checked")].map((input) => input.value);
      void this.app.attempt(async () => {
        await this.startChat(characterIds, title.value.trim(), Number(greeting.value) || 0);
        form.reset();
      });
    });
    return form;
  }

  private async startChat(characterIds: string[], title: string, greetingIndex = 0): Promise<void> {
    const chat = await this.app.client.createChat({ characterIds, title, personaId: this.personaChoice.value, greetingIndex });
    this.chatList.prepend(this.chatItem(chat));
    this.openChat(chat.chatId);
  }

  /** One checkbox per own character; several make a group chat. */
  private renderCast(): void {
    const legend = this.castChoices.querySelector("legend");
    replaceChildren(
      this.castChoices,
      legend,
      ...this.characters.own.map((character: Character) =>
        h("label", {}, h("input", { type: "checkbox", value: character.characterId }), " " + character.displayName),
      ),
    );
  }

  /** The personas a new chat can be pinned to; none leaves it to the override or the default. */
  private renderPersonaChoice(): void {
    const chosen = this.personaChoice.value;
    replaceChildren(
      this.personaChoice,
      h("option", { value: "" }, "Default (or the character's override)"),
      ...this.personas.personas.map((persona) => h("option", { value: persona.personaId, selected: persona.personaId === chosen }, persona.name)),
    );
  }
}
