// A minimal ActivityPub server built on Fedify, for Kennisknoop's interop tests.
//
// Usage: node fedify_peer.mjs PORT CONTEXTS.json
//
// One actor, /users/fedi, with an RSA and an Ed25519 key. Federation as Fedify does it, left
// alone; the test drives it through /control/*: follow an actor, reply to an object (a Note
// signed with an object integrity proof and embedded in a Create, the way Fedify embeds it),
// and report what its inbox received. Contexts Fedify does not preload (Data Integrity v2) come
// from CONTEXTS.json, written by the test from Kennisknoop's shipped copies: nothing is fetched
// beyond loopback.
import { readFileSync } from "node:fs";
import http from "node:http";
import { randomUUID } from "node:crypto";
import { Temporal } from "@js-temporal/polyfill";
import {
  Accept, Create, Endpoints, Follow, Note, Person, createFederation, exportJwk,
  generateCryptoKeyPair, getAuthenticatedDocumentLoader, getDocumentLoader, MemoryKvStore,
  signObject,
} from "@fedify/fedify";

const port = Number(process.argv[2]);
const contexts = JSON.parse(readFileSync(process.argv[3], "utf-8"));
const origin = `http://127.0.0.1:${port}`;
const PUBLIC = new URL("https://www.w3.org/ns/activitystreams#Public");

function withShippedContexts(fedifyLoader) {
  return async (url) => {
    try {
      return await fedifyLoader(url);
    } catch (error) {
      const shipped = contexts[url.replace(/#$/, "")];
      if (shipped === undefined) throw error;
      return { contextUrl: null, documentUrl: url, document: shipped };
    }
  };
}
const loader = withShippedContexts(getDocumentLoader({ allowPrivateAddress: true }));

const keys = [
  await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"),
  await generateCryptoKeyPair("Ed25519"),
];
const received = [];
const notes = new Map();

const federation = createFederation({
  kv: new MemoryKvStore(),
  documentLoader: loader,
  contextLoader: loader,
  authenticatedDocumentLoaderFactory: (identity) => withShippedContexts(
    getAuthenticatedDocumentLoader(identity, { allowPrivateAddress: true })),
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "fedi") return null;
    const pairs = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Fedify peer",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: pairs[0].cryptographicKey,
      assertionMethods: pairs.map((pair) => pair.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => (identifier === "fedi" ? keys : []));

federation.setObjectDispatcher(Note, "/notes/{id}", (_ctx, values) => notes.get(values.id) ?? null);

async function remember(_ctx, activity) {
  received.push(await activity.toJsonLd({ contextLoader: loader }));
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, remember)
  .on(Create, remember)
  .on(Follow, remember);

async function control(request, url) {
  const ctx = federation.createContext(request, undefined);
  const me = ctx.getActorUri("fedi");
  if (url.pathname === "/control/state") {
    return Response.json({ actor: me.href, received });
  }
  const target = await ctx.lookupObject(url.searchParams.get("actor"));
  if (target === null) return new Response("no such actor", { status: 404 });
  if (url.pathname === "/control/follow") {
    const follow = new Follow({ id: new URL(`${origin}/follows/${randomUUID()}`), actor: me,
                                object: target.id });
    await ctx.sendActivity({ identifier: "fedi" }, target, follow);
    return Response.json({ id: follow.id.href });
  }
  if (url.pathname === "/control/reply") {
    const id = randomUUID();
    const unsigned = new Note({
      id: ctx.getObjectUri(Note, { id }), attribution: me, to: PUBLIC, cc: target.id,
      replyTarget: new URL(url.searchParams.get("to")),
      content: "<p>Wij rijden op dinsdag.</p>", published: Temporal.Now.instant(),
    });
    const [, ed25519] = await ctx.getActorKeyPairs("fedi");
    const note = await signObject(unsigned, ed25519.privateKey, ed25519.keyId,
                                  { contextLoader: loader, documentLoader: loader });
    notes.set(id, note);
    const create = new Create({ id: new URL(`${origin}/creates/${id}`), actor: me, to: PUBLIC,
                                cc: target.id, object: note });
    await ctx.sendActivity({ identifier: "fedi" }, target, create);
    return Response.json({ id: note.id.href, create: await create.toJsonLd({ contextLoader: loader }) });
  }
  return new Response("not found", { status: 404 });
}

http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, origin);
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const request = new Request(url, { method: req.method, headers: req.headers,
                                       body: req.method === "GET" ? undefined : body });
    const response = url.pathname.startsWith("/control/")
      ? await control(request, url)
      : await federation.fetch(request, { contextData: undefined });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    console.error(error);
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(error?.stack ?? error));
  }
}).listen(port, "127.0.0.1", () => console.log(`fedify peer on ${origin}`));
