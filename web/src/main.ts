// The reference web client: sign in (a user id in Development, a bearer token otherwise), then
// characters and chats on the side and the open chat in the middle. Routes live in the URL hash
// (#/chat/<id>), so the built files work from any static host with no rewrite rules.

import "./style.css";
import { createChatClient } from "./api";
import { App } from "./app";
import { ChatView } from "./chatView";
import { h, replaceChildren } from "./dom";
import { clearSession, defaultBaseUrl, describeIdentity, loadSession, saveSession, type Session } from "./session";
import { Sidebar } from "./sidebar";

const root = document.getElementById("app")!;

function start(): void {
  const session = loadSession();
  if (session) {
    showApp(session);
  } else {
    showSignIn();
  }
}

function showSignIn(): void {
  const baseUrl = h("input", { name: "baseUrl", id: "base-url", value: defaultBaseUrl(), required: true });
  const kind = h(
    "select",
    { name: "kind", id: "identity-kind" },
    h("option", { value: "user" }, "User id (Development)"),
    h("option", { value: "token" }, "Bearer token"),
  );
  const value = h("input", { name: "identity", id: "identity", placeholder: "e.g. alice", required: true, autocomplete: "off" });
  kind.addEventListener("change", () => {
    value.placeholder = kind.value === "user" ? "e.g. alice" : "paste a token";
  });
  const form = h(
    "form",
    { class: "sign-in stack", id: "sign-in" },
    h("h1", {}, "ChatService"),
    h("label", {}, "Service URL", baseUrl),
    h("label", {}, "Call as", kind),
    value,
    h("button", { type: "submit" }, "Sign in"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const session: Session = {
      baseUrl: baseUrl.value.trim().replace(/\/+$/, ""),
      identity: kind.value === "user" ? { kind: "user", userId: value.value.trim() } : { kind: "token", token: value.value.trim() },
    };
    saveSession(session);
    showApp(session);
  });
  replaceChildren(root, form);
}

function showApp(session: Session): void {
  const banner = h("div", { class: "problem", id: "problem", role: "alert", hidden: true });
  const app = new App(createChatClient(session), banner);
  const main = h("main", { class: "main" }, h("p", { class: "empty" }, "Create a character, then start a chat with it."));
  let chat: ChatView | null = null;

  const sidebar = new Sidebar(app, (chatId) => {
    window.location.hash = "#/chat/" + chatId;
  });

  const signOut = h("button", { type: "button", id: "sign-out" }, "Sign out");
  signOut.addEventListener("click", () => {
    chat?.close();
    clearSession();
    window.removeEventListener("hashchange", route);
    window.location.hash = "";
    showSignIn();
  });

  function route(): void {
    const match = /^#\/chat\/([A-Za-z0-9-]+)$/.exec(window.location.hash);
    const chatId = match ? match[1] : null;
    chat?.close();
    chat = null;
    sidebar.highlight(chatId);
    if (!chatId) {
      replaceChildren(main, h("p", { class: "empty" }, "Choose a chat, or start one."));
      return;
    }
    chat = new ChatView(app, chatId, () => void sidebar.refreshChats().then(() => sidebar.highlight(chatId)), (id) => {
      window.location.hash = "#/chat/" + id;
    });
    replaceChildren(main, chat.element);
    void chat.load();
  }

  replaceChildren(
    root,
    h("header", { class: "top" }, h("strong", {}, "ChatService"), h("span", { id: "who" }, "Signed in as " + describeIdentity(session.identity)), signOut),
    banner,
    h("div", { class: "layout" }, sidebar.element, main),
  );
  window.addEventListener("hashchange", route);
  void sidebar.refresh().then(route);
}

start();
