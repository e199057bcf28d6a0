// Bearer tokens for the browser tests: HS256 JWTs signed with the secret the test service is given
// (playwright.config.ts), as a product's identity provider would issue them.

import { createHmac } from "node:crypto";

export const testIssuer = "https://issuer.web-tests.invalid";
export const testAudience = "chatservice";
// 32 bytes, base64; a test secret, known to nothing but the test service.
export const testHmacSecret = Buffer.from("chatservice-web-tests-hmac-key-32").toString("base64");

function base64Url(data: string | Buffer): string {
  return Buffer.from(data).toString("base64url");
}

/** A token naming `userId` (the `sub` claim), valid for ten minutes. */
export function bearerToken(userId: string): string {
  const now = Math.floor(Date.now() / 1000);
  const header = base64Url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const claims = base64Url(JSON.stringify({ sub: userId, iss: testIssuer, aud: testAudience, iat: now, exp: now + 600 }));
  const signature = createHmac("sha256", Buffer.from(testHmacSecret, "base64")).update(`${header}.${claims}`).digest("base64url");
  return `${header}.${claims}.${signature}`;
}
