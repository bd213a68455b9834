"""Slack's official Python SDK (slack_sdk) and Bolt for Python, unchanged, against `lobby emulator`.

Prints one PASS/FAIL line per check; run.sh counts them. Settings come from the environment
(EMULATOR_URL, CLIENT_ID, CLIENT_SECRET, APP_URL, STATE_DIR).
"""

import html
import os
import re
import sys
import traceback
import urllib.error
import urllib.parse
import urllib.request

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

BASE = os.environ["EMULATOR_URL"]  # ends with "/"
API = BASE + "api/"
AUTHORIZE = BASE + "oauth/v2/authorize"
CLIENT_ID = os.environ["CLIENT_ID"]
CLIENT_SECRET = os.environ["CLIENT_SECRET"]
REDIRECT = os.environ["APP_URL"] + "slack/oauth_redirect"
STATE_DIR = os.environ["STATE_DIR"]

# The emulator's seeded world (src/emulator/seed.rs).
DEMO_TEAM, DEMO_ADMIN, DEMO_MEMBER = "T0DEMO0001", "U0ADMIN001", "U0MEMBR001"
DEMO_GENERAL, OTHER_TEAM = "C0GENERAL1", "T0OTHER001"
ORG, ORG_TEAM, ORG_ADMIN, ORG_GENERAL = "E0ORG00001", "T0ORGWKS01", "U0ORGADM01", "C0ORGGEN01"
BOT_SCOPES = "channels:read,channels:join,chat:write,files:write,team:read,users:read,users:read.email"

results = []


def check(name):
    """Runs the decorated function as one check, now, recording PASS or FAIL."""

    def run(fn):
        try:
            fn()
            results.append(True)
            print(f"PASS python: {name}", flush=True)
        except Exception as e:  # any failure is this check's failure, never the script's
            results.append(False)
            print(f"FAIL python: {name}: {e!r}", flush=True)
            traceback.print_exc(file=sys.stderr)
        return fn

    return run


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


browser = urllib.request.build_opener(NoRedirects())


def http(method, url, form=None):
    """(status, headers, body) of a plain browser request; redirects are not followed."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    try:
        with browser.open(request) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def consent(authorize_url, workspace, user):
    """Opens Slack's consent page and clicks Allow, as a browser would: (status, Location)."""
    status, _, page = http("GET", authorize_url)
    expect(status == 200, f"the consent page answered {status}")
    expect("<form" in page, "the consent page has a form")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorize_url).query))
    form = {**query, "workspace": workspace, "user": user, "decision": "allow"}
    status, headers, _ = http("POST", AUTHORIZE, form)
    return status, headers.get("Location")


def install(workspace, user, scope=BOT_SCOPES, user_scope=""):
    query = {
        "client_id": CLIENT_ID,
        "scope": scope,
        "user_scope": user_scope,
        "redirect_uri": REDIRECT,
        "state": "s-123",
    }
    status, location = consent(AUTHORIZE + "?" + urllib.parse.urlencode(query), workspace, user)
    expect(status == 302, f"consent answered {status}, not a redirect")
    back = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
    expect(back.get("state") == "s-123", "the state comes back")
    return back["code"]


client = WebClient(base_url=API)
tokens = {}


@check("the consent page redirects back with a code and the state")
def _():
    tokens["code"] = install(DEMO_TEAM, DEMO_ADMIN, user_scope="users:read")


@check("oauth.v2.access exchanges the code for bot and user tokens")
def _():
    access = client.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=tokens["code"], redirect_uri=REDIRECT
    )
    expect(access["team"]["id"] == DEMO_TEAM, access.data)
    expect(access["access_token"].startswith("xoxb-"), "a bot token")
    expect(access["authed_user"]["access_token"].startswith("xoxp-"), "a user token")
    tokens["bot"], tokens["user"] = access["access_token"], access["authed_user"]["access_token"]


@check("a reused code is refused as a SlackApiError")
def _():
    try:
        client.oauth_v2_access(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=tokens["code"], redirect_uri=REDIRECT
        )
    except SlackApiError as e:
        expect(e.response["error"] == "invalid_code", e.response.data)
        return
    raise AssertionError("the code worked twice")


bot = lambda: WebClient(token=tokens["bot"], base_url=API)  # noqa: E731


@check("auth.test (an argument-less JSON call) names the bot and its scopes")
def _():
    who = bot().auth_test()
    expect(who["team_id"] == DEMO_TEAM and who["bot_id"].startswith("B"), who.data)
    expect("chat:write" in who.headers.get("x-oauth-scopes", ""), who.headers)


@check("team.info describes the workspace")
def _():
    team = bot().team_info()["team"]
    expect(team["id"] == DEMO_TEAM and team["domain"] == "demo-community", team)


@check("users.info shows a member with the email the scope allows")
def _():
    user = bot().users_info(user=DEMO_MEMBER)["user"]
    expect(user["profile"]["email"] == "max@demo-community.test", user)


@check("users.list: every page, each member once")
def _():
    # The SDK reuses one response object for every page: read each page as it comes.
    pages, ids = 0, []
    for page in bot().users_list(limit=100):
        pages += 1
        ids.extend(m["id"] for m in page["members"])
    expect(pages >= 3, f"{pages} pages")
    expect(len(ids) == len(set(ids)) and len(ids) > 250, f"{len(ids)} members")


@check("conversations.list: every page, private channels only where the bot is")
def _():
    pages, names = 0, []
    for page in bot().conversations_list(limit=2, types="public_channel,private_channel"):
        pages += 1
        names.extend(c["name"] for c in page["channels"])
    expect(pages >= 2, f"{pages} pages")
    expect(sorted(names) == ["general", "old-news", "random"], names)


@check("chat.postMessage where the bot is not a member: not_in_channel as a SlackApiError")
def _():
    try:
        bot().chat_postMessage(channel=DEMO_GENERAL, text="hello")
    except SlackApiError as e:
        expect(e.response["error"] == "not_in_channel", e.response.data)
        return
    raise AssertionError("posted without being a member or chat:write.public")


@check("conversations.join then chat.postMessage with blocks")
def _():
    bot().conversations_join(channel=DEMO_GENERAL)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hello* from slack_sdk"}}]
    posted = bot().chat_postMessage(channel=DEMO_GENERAL, text="hello", blocks=blocks)
    expect(posted["channel"] == DEMO_GENERAL, posted.data)
    expect(posted["message"]["blocks"] == blocks, posted["message"])


@check("conversations.info, conversations.members (every page), users.lookupByEmail")
def _():
    info = bot().conversations_info(channel=DEMO_GENERAL)["channel"]
    expect(info["is_member"] is True and info["is_general"] is True, info)
    members = [m for page in bot().conversations_members(channel=DEMO_GENERAL, limit=100)
               for m in page["members"]]
    expect(len(members) == info["num_members"], f"{len(members)} of {info['num_members']}")
    found = bot().users_lookupByEmail(email="max@demo-community.test")["user"]
    expect(found["id"] == DEMO_MEMBER, found)


@check("chat.update and chat.postEphemeral")
def _():
    posted = bot().chat_postMessage(channel=DEMO_GENERAL, text="draft")
    updated = bot().chat_update(channel=DEMO_GENERAL, ts=posted["ts"], text="final")
    expect(updated["ts"] == posted["ts"] and updated["text"] == "final", updated.data)
    whisper = bot().chat_postEphemeral(channel=DEMO_GENERAL, user=DEMO_MEMBER, text="psst")
    expect(whisper["message_ts"], whisper.data)


@check("files_upload_v2 uploads and shares a file")
def _():
    done = bot().files_upload_v2(
        channel=DEMO_GENERAL, content="a,b\n1,2\n", filename="report.csv", title="Report"
    )
    expect(done["file"]["name"] == "report.csv" and done["file"]["size"] == 8, done.data)


@check("an unknown method is unknown_method (HTTP 404)")
def _():
    try:
        bot().api_call("chat.teleport")
    except SlackApiError as e:
        expect(e.response.status_code == 404, e.response.status_code)
        expect(e.response["error"] == "unknown_method", e.response.data)
        return
    raise AssertionError("an unknown method worked")


@check("admin scopes on an ordinary workspace: the consent page refuses")
def _():
    query = {"client_id": CLIENT_ID, "scope": BOT_SCOPES, "user_scope": "admin.users:write",
             "redirect_uri": REDIRECT, "state": "s-9"}
    status, location = consent(AUTHORIZE + "?" + urllib.parse.urlencode(query), DEMO_TEAM, DEMO_ADMIN)
    expect(status == 400 and location is None, f"{status} {location}")


@check("admin.users.invite with the ordinary install's user token: missing_scope")
def _():
    try:
        WebClient(token=tokens["user"], base_url=API).admin_users_invite(
            team_id=DEMO_TEAM, email="newcomer@example.org", channel_ids=[DEMO_GENERAL]
        )
    except SlackApiError as e:
        expect(e.response["error"] == "missing_scope", e.response.data)
        expect(e.response["needed"] == "admin.users:write", e.response.data)
        return
    raise AssertionError("an ordinary workspace invited through the Admin API")


@check("admin.users.invite on the org-wide Grid install")
def _():
    code = install(ORG, ORG_ADMIN, user_scope="admin.users:write")
    access = client.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code, redirect_uri=REDIRECT
    )
    expect(access["is_enterprise_install"] is True and access["enterprise"]["id"] == ORG, access.data)
    admin = WebClient(token=access["authed_user"]["access_token"], base_url=API)
    teams = WebClient(token=access["access_token"], base_url=API).auth_teams_list()
    expect([t["id"] for t in teams["teams"]] == [ORG_TEAM], teams.data)
    invited = admin.admin_users_invite(
        team_id=ORG_TEAM, email="newcomer@example.org", channel_ids=[ORG_GENERAL]
    )
    expect(invited["ok"], invited.data)


@check("auth.revoke, then the token is refused")
def _():
    revoked = WebClient(token=tokens["user"], base_url=API).auth_revoke()
    expect(revoked["revoked"] is True, revoked.data)
    try:
        WebClient(token=tokens["user"], base_url=API).auth_test()
    except SlackApiError as e:
        expect(e.response["error"] == "token_revoked", e.response.data)
        return
    raise AssertionError("a revoked token still works")


@check("Bolt for Python: install page, state cookie, consent, callback stores the installation")
def _():
    from slack_bolt import App, BoltRequest
    from slack_bolt.oauth.oauth_settings import OAuthSettings
    from slack_sdk.oauth.installation_store import FileInstallationStore
    from slack_sdk.oauth.state_store import FileOAuthStateStore

    store = FileInstallationStore(base_dir=os.path.join(STATE_DIR, "installations"))
    app = App(
        signing_secret="unused-here",
        client=WebClient(base_url=API),
        oauth_settings=OAuthSettings(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scopes=BOT_SCOPES.split(","),
            redirect_uri=REDIRECT,
            authorization_url=AUTHORIZE,
            installation_store=store,
            state_store=FileOAuthStateStore(
                expiration_seconds=600, base_dir=os.path.join(STATE_DIR, "states")
            ),
        ),
    )
    flow = app.oauth_flow
    page = flow.handle_installation(BoltRequest(body="", query={}, headers={}))
    expect(page.status == 200, f"install page {page.status}")
    cookie = page.headers["set-cookie"][0].split(";")[0]
    expect(cookie.startswith("slack-app-oauth-state="), cookie)
    href = html.unescape(re.search(r'href="([^"]*oauth/v2/authorize[^"]*)"', page.body).group(1))
    status, location = consent(href, OTHER_TEAM, "U0OTHADM01")
    expect(status == 302, f"consent {status}")
    query = urllib.parse.urlsplit(location).query
    done = flow.handle_callback(BoltRequest(body="", query=query, headers={"cookie": cookie}))
    expect(done.status == 200, f"callback {done.status}: {done.body[:300]}")
    installation = store.find_installation(enterprise_id=None, team_id=OTHER_TEAM)
    expect(installation is not None and installation.bot_token.startswith("xoxb-"), installation)
    expect(installation.bot_id and installation.bot_id.startswith("B"), installation.bot_id)

    replay = flow.handle_callback(BoltRequest(body="", query=query, headers={"cookie": cookie}))
    expect(replay.status != 200, "a used state is refused by Bolt")
    tokens["bolt_bot"] = installation.bot_token


@check("apps.uninstall revokes the installation's tokens")
def _():
    installed = WebClient(token=tokens["bolt_bot"], base_url=API)
    done = installed.apps_uninstall(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    expect(done["ok"], done.data)
    try:
        installed.auth_test()
    except SlackApiError as e:
        expect(e.response["error"] == "token_revoked", e.response.data)
        return
    raise AssertionError("an uninstalled app's token still works")


passed = sum(results)
print(f"python: {passed} passed, {len(results) - passed} failed", flush=True)
sys.exit(0 if passed == len(results) else 1)
