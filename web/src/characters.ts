// Characters: the caller's own and the public catalog (newest or most used, with a name/tag prefix
// search), a form with every field of the definition, and Character Card import/export.

import { App } from "./app";
import { button, h, replaceChildren } from "./dom";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  CardSpec,
  CharacterListing,
  CharacterOrder,
  Visibility,
  type Character,
  type CreateCharacterRequestSchema,
} from "./gen/chat/v1/chat_pb";

const pageSize = 20;
const maxCardBytes = 8 * 1024 * 1024;

export class CharacterPanel {
  readonly element: HTMLElement;
  /** The caller's own characters, newest first, as far as they are loaded: the new-chat form offers them. */
  readonly own: Character[] = [];
  private readonly list = h("ul", { class: "list", id: "characters" });
  private readonly more = h("div");
  private readonly listing = h(
    "select",
    { id: "character-listing", "aria-label": "Which characters" },
    h("option", { value: String(CharacterListing.OWN) }, "Mine"),
    h("option", { value: String(CharacterListing.PUBLIC) }, "Public catalog"),
  );
  private readonly order = h(
    "select",
    { id: "character-order", "aria-label": "Order" },
    h("option", { value: String(CharacterOrder.NEWEST) }, "Newest"),
    h("option", { value: String(CharacterOrder.MOST_USED) }, "Most used"),
  );
  private readonly query = h("input", { id: "character-query", type: "search", placeholder: "Search names and tags", maxlength: 32 });

  constructor(
    private readonly app: App,
    /** Called when the own list changes (the new-chat form lists them). */
    private readonly onOwnChanged: () => void,
    /** Starts a one-to-one chat with a character (from the catalog). */
    private readonly chatWith: (character: Character) => Promise<void>,
  ) {
    for (const control of [this.listing, this.order]) control.addEventListener("change", () => void this.reload());
    this.query.addEventListener("change", () => void this.reload());
    this.element = h(
      "section",
      { class: "characters" },
      h("h2", {}, "Characters"),
      this.createForm(),
      this.importForm(),
      h("div", { class: "row" }, this.listing, this.order),
      this.query,
      this.list,
      this.more,
    );
  }

  /** Loads the first page of the chosen listing. */
  async reload(): Promise<void> {
    await this.app.attempt(async () => {
      if (this.listingValue() === CharacterListing.OWN) this.own.length = 0;
      this.list.replaceChildren();
      await this.load("");
    });
  }

  private listingValue(): CharacterListing {
    return Number(this.listing.value) as CharacterListing;
  }

  private async load(pageToken: string): Promise<void> {
    const listing = this.listingValue();
    const page = await this.app.client.listCharacters({
      pageSize,
      pageToken,
      listing,
      order: Number(this.order.value) as CharacterOrder,
      query: this.query.value.trim(),
    });
    for (const character of page.characters) {
      this.app.knowCharacter(character);
      if (listing === CharacterListing.OWN) this.own.push(character);
      this.list.append(this.item(character));
    }
    if (listing === CharacterListing.OWN) this.onOwnChanged();
    replaceChildren(
      this.more,
      page.nextPageToken && button("More characters", () => this.app.attempt(() => this.load(page.nextPageToken)), { id: "more-characters" }),
    );
  }

  private item(character: Character): HTMLElement {
    const mine = this.listingValue() === CharacterListing.OWN;
    const visibility = { [Visibility.PUBLIC]: "public", [Visibility.UNLISTED]: "unlisted" }[character.visibility as number] ?? "private";
    return h(
      "li",
      { "data-character-id": character.characterId, class: "character-item" },
      h("strong", {}, character.displayName),
      " ",
      h("small", {}, mine ? visibility : `${character.chatCount} chats`),
      character.tags.length > 0 && h("div", { class: "tags" }, character.tags.join(" · ")),
      character.description && h("div", { class: "preview" }, character.description),
      h(
        "div",
        { class: "row" },
        !mine && button("Chat", () => this.app.attempt(() => this.chatWith(character)), { class: "chat-with" }),
        mine && button("Export card", () => this.app.attempt(() => this.export(character, false)), { class: "export-json" }),
        mine && button("PNG", () => this.app.attempt(() => this.export(character, true)), { class: "export-png" }),
      ),
    );
  }

  private createForm(): HTMLElement {
    const field = (name: string, placeholder: string, rows = 0): HTMLInputElement | HTMLTextAreaElement =>
      rows > 0 ? h("textarea", { name, placeholder, rows }) : h("input", { name, placeholder });
    const name = h("input", { name: "displayName", placeholder: "Name", required: true, maxlength: 100 });
    const persona = field("persona", "Definition: who they are and how they speak", 3);
    const greeting = field("greeting", "Greeting (optional)");
    const details = {
      description: field("description", "Description", 2),
      personality: field("personality", "Personality", 2),
      scenario: field("scenario", "Scenario", 2),
      exampleDialogues: field("exampleDialogues", "Example dialogues ({{user}}: … / {{char}}: …)", 3),
      alternateGreetings: field("alternateGreetings", "Alternate greetings, one per line", 2),
      tags: field("tags", "Tags, comma-separated"),
      creatorNotes: field("creatorNotes", "Creator notes (never sent to a model)", 2),
    };
    // How readily the character speaks up in a group chat with the natural speaker strategy.
    const talkativeness = h("input", { type: "range", name: "talkativeness", min: 0, max: 1, step: 0.05, value: 0.5, "aria-label": "Talkativeness" });
    const visibility = h(
      "select",
      { name: "visibility" },
      h("option", { value: String(Visibility.PRIVATE) }, "Private"),
      h("option", { value: String(Visibility.UNLISTED) }, "Unlisted"),
      h("option", { value: String(Visibility.PUBLIC) }, "Public"),
    );
    const form = h(
      "form",
      { class: "stack", id: "new-character" },
      name,
      persona,
      greeting,
      h("details", {}, h("summary", {}, "More of the definition"), h("div", { class: "stack" }, ...Object.values(details), h("label", {}, "Talkativeness in groups ", talkativeness))),
      visibility,
      h("button", { type: "submit" }, "Create character"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const lines = (text: string, separator: RegExp) => text.split(separator).map((line) => line.trim()).filter(Boolean);
      const request: MessageInitShape<typeof CreateCharacterRequestSchema> = {
        displayName: name.value.trim(),
        persona: persona.value.trim(),
        greeting: greeting.value.trim(),
        visibility: Number(visibility.value) as Visibility,
        description: details.description.value.trim(),
        personality: details.personality.value.trim(),
        scenario: details.scenario.value.trim(),
        exampleDialogues: details.exampleDialogues.value.trim(),
        alternateGreetings: lines(details.alternateGreetings.value, /\n/),
        tags: lines(details.tags.value, /,/),
        creatorNotes: details.creatorNotes.value.trim(),
        talkativeness: Number(talkativeness.value),
      };
      void this.app.attempt(async () => {
        this.added(await this.app.client.createCharacter(request));
        form.reset();
      });
    });
    return form;
  }

  /** A card file (JSON, or the PNG that carries it) becomes a private character. */
  private importForm(): HTMLElement {
    const file = h("input", { type: "file", id: "card-file", accept: ".json,.png,application/json,image/png", "aria-label": "Character card file" });
    file.addEventListener("change", () => {
      const chosen = file.files?.[0];
      if (!chosen) return;
      void this.app.attempt(async () => {
        if (chosen.size > maxCardBytes) throw new Error(`${chosen.name} is over 8 MiB, the most a card may be`);
        const bytes = new Uint8Array(await chosen.arrayBuffer());
        const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
        const card = isPng ? { case: "png" as const, value: bytes } : { case: "json" as const, value: new TextDecoder().decode(bytes) };
        this.added(await this.app.client.importCharacterCard({ card }));
        file.value = "";
      });
    });
    return h("label", { class: "import" }, "Import a character card (JSON or PNG) ", file);
  }

  private added(character: Character): void {
    this.app.knowCharacter(character);
    if (this.listingValue() === CharacterListing.OWN) {
      this.own.unshift(character);
      this.list.prepend(this.item(character));
      this.onOwnChanged();
    }
  }

  private async export(character: Character, png: boolean): Promise<void> {
    const card = await this.app.client.exportCharacterCard({ characterId: character.characterId, spec: CardSpec.UNSPECIFIED, png });
    const blob = png ? new Blob([card.png.slice()], { type: "image/png" }) : new Blob([card.json], { type: "application/json" });
    const link = h("a", { href: URL.createObjectURL(blob), download: card.fileName || character.displayName + (png ? ".png" : ".json") });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }
}
