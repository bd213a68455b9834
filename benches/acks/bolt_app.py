"""Bolt for Python acking `/echo`, for `cargo bench --bench acks` (BENCH_BOLT_PYTHON).

An AsyncApp with the bench's signing secret, a fixed `authorize` answer (there is no Slack to ask)
and one command handler that only acks: the least work Bolt does for a signed slash command.
"""
import os

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult


async def authorize(enterprise_id, team_id, user_id):
    return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-bench", bot_user_id="U0BOT")


app = AsyncApp(signing_secret=os.environ["SLACK_SIGNING_SECRET"], authorize=authorize)


@app.command("/echo")
async def echo(ack):
    await ack()


if __name__ == "__main__":
    app.start(port=int(os.environ["PORT"]), path="/slack/events")
