// User personas: who the user is in a chat. One may be the default; the new-chat form can pin one.

import { App } from "./app";
import { button, h, replaceChildren } from "./dom";
import type { Persona } from "./gen/chat/v1/chat_pb";

export class PersonaPanel {
  readonly element: HTMLElement;
  /** The caller's personas, the default first: the new-chat form offers them. */
  personas: Persona[] = [];
  private readonly list = h("ul", { class: "list", id: "personas" });

  constructor(
    private readonly app: App,
    private readonly onChanged: () => void,
  ) {
    this.element = h("section", { class: "personas" }, h("h2", {}, "Personas"), this.createForm(), this.list);
  }

  async reload(): Promise<void> {
    await this.app.attempt(async () => {
      this.personas = (await this.app.client.listPersonas({})).personas;
      this.render();
    });
  }

  private render(): void {
    replaceChildren(
      this.list,
      ...this.personas.map((persona) =>
        h(
          "li",
          { "data-persona-id": persona.personaId, class: "persona-item" },
          h("strong", {}, persona.name),
          persona.isDefault && h("span", { class: "badge" }, "default"),
          persona.description && h("div", { class: "preview" }, persona.description),
          h(
            "div",
            { class: "row" },
            !persona.isDefault && button("Make default", () => this.makeDefault(persona), { class: "make-default" }),
            button("Delete", () => this.remove(persona), { class: "delete-persona" }),
          ),
        ),
      ),
    );
    this.onChanged();
  }

  private createForm(): HTMLElement {
    const name = h("input", { name: "personaName", placeholder: "Your name in chats", required: true, maxlength: 64 });
    const description = h("textarea", { name: "personaDescription", placeholder: "Who you are, as the characters should know it", rows: 2, maxlength: 2000 });
    const isDefault = h("input", { type: "checkbox", name: "personaDefault" });
    const form = h(
      "form",
      { class: "stack", id: "new-persona" },
      name,
      description,
      h("label", {}, isDefault, " Use by default"),
      h("button", { type: "submit" }, "Create persona"),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      void this.app.attempt(async () => {
        await this.app.client.createPersona({ name: name.value.trim(), description: description.value.trim(), isDefault: isDefault.checked });
        form.reset();
        await this.reload();
      });
    });
    return form;
  }

  private async makeDefault(persona: Persona): Promise<void> {
    await this.app.attempt(async () => {
      await this.app.client.updatePersona({ persona: { personaId: persona.personaId, isDefault: true }, updateMask: { paths: ["is_default"] } });
      await this.reload();
    });
  }

  private async remove(persona: Persona): Promise<void> {
    await this.app.attempt(async () => {
      await this.app.client.deletePersona({ personaId: persona.personaId });
      await this.reload();
    });
  }
}
