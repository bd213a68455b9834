# Lobby's public pages: the join form, its embed and the thank-you pages.
lang-name = English
lang-switch = Language
skip-link = Skip to the content
join-title = Join { $title }
join-embed-title = Join { $title } on Slack
join-on-slack = { $team } on Slack
join-members = { $count ->
    [one] { $count } member
   *[other] { $count } members
}
join-coc-note = Members follow the community's code of conduct:
join-coc-link = code of conduct
join-privacy = We use your address only to invite you to Slack.
form-email = Email address
form-name = Your name
form-optional = (optional)
form-honeypot = Leave this field empty
form-coc-accept = I have read and accept the code of conduct.
form-coc-read = Read the code of conduct
form-submit = Request an invitation
done-page-title = Thanks
done-confirm-title = Almost there — check your mail
done-confirm-body = We sent a mail to the address you entered. Open the link in it and press the button to confirm the address; then your request to join { $title } goes on.
done-confirm-embed = Open the link in the mail we sent you to confirm your address.
done-confirm-spam = No mail after a while? Check your spam folder. The link works for 24 hours.
done-title = Thanks — your request is in
done-approval = An admin of { $title } will look at your request. If they approve it, you get an invitation to { $team } by email.
done-link-mail = We are mailing you the invite link to { $team } now. Follow it to create your account and join.
done-slack = Slack will email you an invitation to { $team } in the next few minutes. Follow the link in that email to create your account and join.
done-spam = No email after a while? Check your spam folder. If you were already invited or are already a member, Slack does not send another one.
done-back = Back
# Mails to the people who ask to join.
mail-hello = Hello,
mail-confirm-subject = Confirm your address to join { $title }
mail-confirm-asked = someone (hopefully you) asked to join { $title } on Slack with this address.
mail-confirm-open = To confirm it is yours, open this link and press the button on the page:
mail-confirm-once = The link works once, for 24 hours. If you did not ask, ignore this mail: nothing happens without the confirmation.
mail-denied-subject = Your request to join { $title }
mail-denied-body = thank you for asking to join { $title } on Slack. The admins looked at your request and could not accept it this time.
mail-denied-only = This is the only mail you get about it; your address is not used for anything else.
mail-link-subject = Your invitation to { $title }
mail-link-welcome = Welcome to { $title }!
mail-link-accepted = Your request was accepted. Join the Slack workspace through this link:
mail-link-coc = Please read the code of conduct first:
mail-link-channels = Once you are in, join these channels:
mail-link-bye = See you there!
# The address confirmation pages.
confirm-title = Confirm your address
confirm-body = Press the button to confirm that you asked to join { $title } with this address.
confirm-button = Confirm my address
confirm-dead-title = This link does not work any more
confirm-dead-body = It was used already, or it is older than 24 hours. If you still want to join, send the form again.
confirm-back = Back to the form
confirmed-page-title = Address confirmed
confirmed-title = Thanks — your address is confirmed
confirmed-approval = An admin of { $title } will look at your request. If they approve it, you get an invitation by email.
confirmed-link-mail = The invite link to { $title } is on its way to your mailbox.
confirmed-slack = Slack will email you an invitation in the next few minutes.
# The frame of every page.
nav-main = Main
nav-dashboard = Dashboard
add-to-slack = Add to Slack
footer = Lobby · a self-hosted home for Slack communities
demo-title = Demo mode.
demo-body = No Slack credentials are set, so Lobby talks to its built-in Slack emulator instead of slack.com.
demo-emulator = Open the emulator
demo-mailbox = Open the demo mailbox
# Error pages.
error-title-400 = That request did not make sense
error-title-401 = Not signed in
error-title-403 = Not allowed
error-title-404 = Page not found
error-title-405 = Method not allowed
error-title-409 = Conflict
error-title-413 = Too large
error-title-415 = Unsupported content type
error-title-429 = Slow down
error-title-500 = Something went wrong
error-title-502 = Slack did not answer
error-title-other = That did not work
error-not-found = There is nothing at this address.
error-method = This address does not accept that kind of request.
error-unreadable = The request could not be read: { $detail }
error-too-many = { $count ->
    [one] Too many requests. Please try again in { $count } second.
   *[other] Too many requests. Please try again in { $count } seconds.
}
error-bad-gateway = Slack could not be reached. Please try again in a moment.
error-internal = Something went wrong on our side. It has been logged.
error-form-not-verified = The form could not be verified (it may have been sent from another site). Please reload the page and try again.
error-bad-query = The address has a malformed query string.
error-bad-team = The address names a workspace that is not valid. Please start again from the install page.
error-start-page = Start page
error-request-id = Request id:
next-back-to-form = Back to the form
next-install-again = Start Add to Slack again
next-start-page = Back to the start page
# The join form's answers to what was sent.
join-error-expired = The form was open for too long. Please check your details and send it again.
join-error-too-many = { $count ->
    [one] Too many requests from your network right now. Please send the form again in { $count } minute.
   *[other] Too many requests from your network right now. Please send the form again in { $count } minutes.
}
join-error-captcha = The captcha could not be verified. Please try again.
join-error-sent = This form was already sent. To send another request, reload the page.
join-error-coc = Please read and accept the code of conduct.
email-error-empty = Please enter an email address.
email-error-too-long = An email address is at most { $max } characters long.
email-error-missing-at = An email address needs an @ between the name and the domain, like name@example.org.
email-error-several-ats = An email address has only one @.
email-error-empty-local = The part before the @ is missing.
email-error-local-too-long = The part before the @ is at most { $max } characters long.
email-error-local-characters = The part before the @ may only hold letters, digits and . ! # $ % & ' * + - / = ? ^ _ ` {"{"} | {"}"} ~ (no spaces or quotes).
email-error-local-dots = The part before the @ cannot start or end with a dot or have two dots in a row.
email-error-empty-domain = The domain after the @ is missing.
email-error-domain-dot = The domain after the @ needs a dot, like example.org.
email-error-domain-characters = The domain after the @ is made of letters, digits and hyphens separated by single dots, and does not end with a dot.
email-error-numeric-tld = The domain after the @ must end in a name like .org, not a number.
# The start page.
home-page-title = Welcome
home-hero-title = A front door for your Slack community
home-hero-body = Lobby puts a “join our Slack” form on the web, turns each signup into an invite, and gives your workspace admins slash commands, a mention bot and a posting API — from one binary and one SQLite file.
home-hero-note = Installing asks a workspace admin to approve what Lobby may do. Nothing is stored until they do.
home-communities = Communities
home-no-communities = No community has a join page yet.
home-another = Run another workspace?
home-add-lobby = Add Lobby to it.
# Add to Slack: the install page and its outcomes.
install-page-title = Add Lobby to Slack
install-title = Add Lobby to your Slack workspace
install-intro = Slack will ask a workspace admin to approve. Once approved, Lobby will be allowed to:
install-user-intro = On behalf of the admin who installs it, Lobby will also be allowed to:
install-tokens = Tokens are stored encrypted on this server and never shown again. You can remove Lobby at any time from the dashboard or from Slack's app settings.
install-link-valid = This link is valid for ten minutes and only in this browser.
scope-app-mentions-read = See messages that mention @Lobby, to answer them
scope-channels-join = Join public channels it posts to
scope-channels-read = See the names of public channels, to post to them by name
scope-chat-write = Send messages as @Lobby
scope-chat-write-public = Post to public channels it has not joined (announcements, your scripts)
scope-commands = Add the /invite, /summarize and /lobby slash commands
scope-files-write = Upload files that your scripts post through Lobby
scope-groups-read = See the names of private channels it has been added to
scope-team-read = See the workspace's name, address and icon, for the join page
scope-users-read = See who is a member and who is an admin, for the member count and the dashboard
scope-users-read-email = See members' email addresses, to know when an invited person has joined
scope-admin-users-write = Invite people to the workspace by email (Enterprise Grid admins)
installed-page-title = Installed
installed-title = Lobby is installed in { $team }
installed-updated-title = Lobby is updated in { $team }
installed-next = Everything is in place. Here is where to go next:
installed-join-page = The join page
installed-join-page-why = share it so people can ask to join { $team }.
installed-dashboard = The dashboard
installed-dashboard-why = sign in with Slack to manage communities and invite requests.
installed-open-slack = Open { $team } in Slack
installed-try = try
install-start-again = Start again
install-home = Home
install-cancelled-title = Installation cancelled
install-cancelled-body = You cancelled on Slack's page, so nothing was installed. You can start again whenever you like.
install-slack-said-title = Slack did not approve the installation
install-slack-said-body = Slack answered “{ $code }”. Nothing was installed.
install-state-missing-title = This link is incomplete
install-state-missing-body = The address is missing its state, so it cannot be checked. Please start the installation again.
install-state-used-title = This link has already been used
install-state-used-body = Each installation link works once, and this one is unknown or was already used. Please start the installation again.
install-state-expired-title = This link has expired
install-state-expired-body = Installation links are valid for ten minutes. Please start the installation again.
install-state-elsewhere-title = This installation was started elsewhere
install-state-elsewhere-body = The installation was started in another browser, so it cannot be finished here. Please start the installation again in this browser.
install-state-sign-in-title = This link belongs to the sign-in
install-state-sign-in-body = The address was issued for signing in to the dashboard, not for installing the app. Please start the installation again.
install-missing-code-title = Slack sent no code
install-missing-code-body = The address came back from Slack without its code. Please start again.
install-code-refused-title = Slack refused the installation
install-code-refused-body = Slack did not accept the code (“{ $code }”). Nothing was installed. Please start again.
install-unreachable-title = Slack did not answer
install-unreachable-body = Slack could not be reached to finish the installation. Nothing was installed. Please try again in a moment.
install-team-not-allowed-title = This workspace is not allowed here
install-team-not-allowed-body = This Lobby server serves only some workspaces, and { $name } is not one of them. Nothing was stored.
install-no-bot-token-title = Slack granted no bot token
install-no-bot-token-body = Lobby needs its bot scopes to work, and Slack granted none. Nothing was installed.
install-internal-title = Something went wrong
install-internal-body = Something went wrong on our side while finishing the installation. It has been logged; please try again.
