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
