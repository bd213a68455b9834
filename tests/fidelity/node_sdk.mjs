// Slack's official Node SDK (@slack/web-api), unchanged, against `lobby emulator`.
// Prints one PASS/FAIL line per check; run.sh counts them. Settings come from the environment.
import { isDeepStrictEqual } from 'node:util';
import { WebClient, ErrorCode } from '@slack/web-api';

const BASE = process.env.EMULATOR_URL; // ends with "/"
const API = `${BASE}api/`;
const AUTHORIZE = `${BASE}oauth/v2/authorize`;
const { CLIENT_ID, CLIENT_SECRET } = process.env;
const REDIRECT = `${process.env.APP_URL}slack/oauth_redirect`;

// The emulator's seeded world (src/emulator/seed.rs).
const DEMO_TEAM = 'T0DEMO0001', DEMO_ADMIN = 'U0ADMIN001', DEMO_MEMBER = 'U0MEMBR001', DEMO_RANDOM = 'C0RANDOM01';
const ORG = 'E0ORG00001', ORG_TEAM = 'T0ORGWKS01', ORG_ADMIN = 'U0ORGADM01', ORG_GENERAL = 'C0ORGGEN01';
const BOT_SCOPES = 'channels:read,channels:join,chat:write,files:write,team:read,users:read,users:read.email';

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push(true);
    console.log(`PASS node: ${name}`);
  } catch (e) {
    results.push(false);
    console.log(`FAIL node: ${name}: ${e?.stack ?? e}`);
  }
}
function expect(condition, message) {
  if (!condition) throw new Error(typeof message === 'string' ? message : JSON.stringify(message));
}
async function refused(call, error) {
  try {
    await call();
  } catch (e) {
    expect(e.code === ErrorCode.PlatformError, `not a platform error: ${e.code} ${e.message}`);
    expect(e.data.error === error, e.data);
    return e;
  }
  throw new Error(`expected ${error}, but the call worked`);
}

const client = (token) => new WebClient(token, { slackApiUrl: API, retryConfig: { retries: 0 } });

/** Opens the consent page and clicks Allow as a browser would; returns the code it redirects with. */
async function install(workspace, user, userScope = '') {
  const query = new URLSearchParams({
    client_id: CLIENT_ID, scope: BOT_SCOPES, user_scope: userScope, redirect_uri: REDIRECT, state: 'n-1',
  });
  const page = await fetch(`${AUTHORIZE}?${query}`);
  expect(page.status === 200, `consent page ${page.status}`);
  const form = new URLSearchParams(query);
  form.set('workspace', workspace);
  form.set('user', user);
  form.set('decision', 'allow');
  const decided = await fetch(AUTHORIZE, { method: 'POST', body: form, redirect: 'manual' });
  expect(decided.status === 302, `consent answered ${decided.status}`);
  const back = new URL(decided.headers.get('location')).searchParams;
  expect(back.get('state') === 'n-1', 'the state comes back');
  return back.get('code');
}

const exchange = (code) => client().oauth.v2.access({
  client_id: CLIENT_ID, client_secret: CLIENT_SECRET, code, redirect_uri: REDIRECT,
});

const t = {};

await check('consent, then oauth.v2.access gives bot and user tokens', async () => {
  t.code = await install(DEMO_TEAM, DEMO_ADMIN, 'users:read');
  const access = await exchange(t.code);
  expect(access.team.id === DEMO_TEAM && access.access_token.startsWith('xoxb-'), access);
  t.bot = access.access_token;
  t.user = access.authed_user.access_token;
});

await check('a reused code is refused as a platform error', () => refused(() => exchange(t.code), 'invalid_code'));

await check('auth.test names the bot', async () => {
  const who = await client(t.bot).auth.test();
  expect(who.team_id === DEMO_TEAM && who.bot_id.startsWith('B'), who);
  expect(who.response_metadata.scopes.includes('chat:write'), who.response_metadata);
});

await check('team.info and users.info', async () => {
  const team = await client(t.bot).team.info();
  expect(team.team.domain === 'demo-community', team);
  const user = await client(t.bot).users.info({ user: DEMO_MEMBER });
  expect(user.user.profile.email === 'max@demo-community.test', user.user);
});

await check('users.list: every page through paginate()', async () => {
  const ids = [];
  let pages = 0;
  for await (const page of client(t.bot).paginate('users.list', { limit: 100 })) {
    pages += 1;
    ids.push(...page.members.map((m) => m.id));
  }
  expect(pages >= 3 && ids.length > 250 && new Set(ids).size === ids.length, `${pages} pages, ${ids.length} ids`);
});

await check('conversations.list: every page through paginate()', async () => {
  const names = [];
  for await (const page of client(t.bot).paginate('conversations.list', { limit: 2 })) {
    names.push(...page.channels.map((c) => c.name));
  }
  expect(JSON.stringify(names.sort()) === '["general","old-news","random"]', names);
});

await check('chat.postMessage outside the channel: not_in_channel', () =>
  refused(() => client(t.bot).chat.postMessage({ channel: DEMO_RANDOM, text: 'hi' }), 'not_in_channel'));

await check('conversations.join, then chat.postMessage with blocks', async () => {
  await client(t.bot).conversations.join({ channel: DEMO_RANDOM });
  const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*hello* from @slack/web-api' } }];
  const posted = await client(t.bot).chat.postMessage({ channel: DEMO_RANDOM, text: 'hello', blocks });
  expect(isDeepStrictEqual(posted.message.blocks, blocks), posted.message);
});

await check('filesUploadV2 uploads and shares a file', async () => {
  const done = await client(t.bot).filesUploadV2({
    channel_id: DEMO_RANDOM, file: Buffer.from('a,b\n1,2\n'), filename: 'report.csv', title: 'Report',
  });
  const file = done.files[0].files[0];
  expect(file.name === 'report.csv' && file.size === 8, done);
});

await check('an unknown method is an HTTP 404', async () => {
  try {
    await client(t.bot).apiCall('chat.teleport');
  } catch (e) {
    expect(e.code === ErrorCode.HTTPError && e.statusCode === 404, `${e.code} ${e.statusCode}`);
    const body = typeof e.body === 'string' ? JSON.parse(e.body) : e.body;
    expect(body.error === 'unknown_method', body);
    return;
  }
  throw new Error('an unknown method worked');
});

await check('admin.users.invite with an ordinary workspace token: missing_scope', async () => {
  const e = await refused(() => client(t.user).admin.users.invite({
    team_id: DEMO_TEAM, email: 'node@example.org', channel_ids: [DEMO_RANDOM],
  }), 'missing_scope');
  expect(e.data.needed === 'admin.users:write', e.data);
});

await check('admin.users.invite on the org-wide Grid install', async () => {
  const access = await exchange(await install(ORG, ORG_ADMIN, 'admin.users:write'));
  expect(access.is_enterprise_install === true, access);
  const invited = await client(access.authed_user.access_token).admin.users.invite({
    team_id: ORG_TEAM, email: 'node@example.org', channel_ids: [ORG_GENERAL],
  });
  expect(invited.ok, invited);
});

await check('auth.revoke, then the token is refused', async () => {
  const revoked = await client(t.user).auth.revoke();
  expect(revoked.revoked === true, revoked);
  await refused(() => client(t.user).auth.test(), 'token_revoked');
});

const passed = results.filter(Boolean).length;
console.log(`node: ${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
