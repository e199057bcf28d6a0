// The side panel: the caller's characters (create, list) and chats (most recent first, paged; new chat).

import { timestampDate } from "@bufbuild/protobuf/wkt";
import { App } from "./app";
import { button, h, replaceChildren } from "./dom";
import { Visibility, type Character, type Chat } from "./gen/chat/v1/chat_pb";

const pageSize = 20;

export class Sidebar {
  readonly element: HTMLElement;
  private readonly characterList = h("ul", { class: "list", id: "characters" });
  private readonly chatList = h("ul", { class: "list", id: "chats" });
  private readonly moreCharacters = h("div");
  private readonly moreChats = h("div");
  private readonly castChoices = h("fieldset", { class: "cast" }, h("legend", {}, "Characters in the new chat"));
  private readonly characters: Character[] = [];

  constructor(
    private readonly app: App,
    private readonly openChat: (chatId: string) => void,
  ) {
    this.element = h(
      "aside",
      { class: "sidebar" },
      h("h2", {}, "Characters"),
      this.characterForm(),
      this.characterList,
      this.moreCharacters,
      h("h2", {}, "Chats"),
      this.chatForm(),
      this.chatList,
      this.moreChats,
    );
  }

  /** Loads the first pages of both lists. */
  async refresh(): Promise<void> {
    await this.app.attempt(async () => {
      this.characters.length = 0;
      this.characterList.replaceChildren();
      this.chatList.replaceChildren();
      await Promise.all([this.loadCharacters(""), this.loadChats("")]);
      // Both lists hold their first pages (tests wait for this before counting what is listed).
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

  private async loadCharacters(pageToken: string): Promise<void> {
    const page = await this.app.client.listCharacters({ pageSize, pageToken });
    for (const character of page.characters) {
      this.app.knowCharacter(character);
      this.characters.push(character);
      this.characterList.append(this.characterItem(character));
    }
    this.renderCast();
    replaceChildren(
      this.moreCharacters,
      page.nextPageToken && button("More characters", () => this.app.attempt(() => this.loadCharacters(page.nextPageToken))),
    );
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

  private characterItem(character: Character): HTMLElement {
    return h(
      "li",
      { "data-character-id": character.characterId },
      h("strong", {}, character.displayName),
      " ",
      h("small", {}, character.visibility === Visibility.PUBLIC ? "public" : "private"),
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

  private characterForm(): HTMLElement {
    const name = h("input", { name: "displayName", placeholder: "Name", required: true, maxlength: 100 });
    const persona = h("textarea", { name: "persona", placeholder: "Persona: who they are and how they speak", required: true, rows: 3 });
    const greeting = h("input", { name: "greeting", placeholder: "Greeting (optional)" });
    const visibility = h(
      "select",
      { name: "visibility" },
      h("option", { value: String(Visibility.PRIVATE) }, "Private"),
      h("option", { value: String(Visibility.PUBLIC) }, "Public"),
    );
    const form = h("form", { class: "stack", id: "new-character" }, name, persona, greeting, visibility, h("button", { type: "submit" }, "Create character"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.app.attempt(async () => {
        const character = await this.app.client.createCharacter({
          displayName: name.value.trim(),
          persona: persona.value.trim(),
          greeting: greeting.value.trim(),
          visibility: Number(visibility.value) as Visibility,
        });
        this.app.knowCharacter(character);
        this.characters.unshift(character);
        this.characterList.prepend(this.characterItem(character));
        this.renderCast();
        form.reset();
      });
    });
    return form;
  }

  private chatForm(): HTMLElement {
    const title = h("input", { name: "title", placeholder: "Title (optional)" });
    const form = h("form", { class: "stack", id: "new-chat" }, this.castChoices, title, h("button", { type: "submit" }, "New chat"));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const characterIds = [...this.castChoices.querySelectorAll<HTMLInputElement>("input:checked")].map((input) => input.value);
      void this.app.attempt(async () => {
        const chat = await this.app.client.createChat({ characterIds, title: title.value.trim() });
        this.chatList.prepend(this.chatItem(chat));
        form.reset();
        this.openChat(chat.chatId);
      });
    });
    return form;
  }

  /** One checkbox per known character; several make a group chat. */
  private renderCast(): void {
    const legend = this.castChoices.querySelector("legend");
    replaceChildren(
      this.castChoices,
      legend,
      ...this.characters.map((character) =>
        h("label", {}, h("input", { type: "checkbox", value: character.characterId }), " " + character.displayName),
      ),
    );
  }
}
