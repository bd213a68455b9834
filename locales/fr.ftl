lang-name = Français
lang-switch = Langue
skip-link = Aller au contenu
join-title = Rejoindre { $title }
join-embed-title = Rejoindre { $title } sur Slack
join-on-slack = { $team } sur Slack
join-members = { $count ->
    [one] { $count } membre
   *[other] { $count } membres
}
join-coc-note = Les membres respectent le code de conduite de la communauté :
join-coc-link = code de conduite
join-privacy = Nous utilisons votre adresse uniquement pour vous inviter sur Slack.
form-email = Adresse e-mail
form-name = Votre nom
form-optional = (facultatif)
form-honeypot = Laissez ce champ vide
form-coc-accept = J’ai lu et j’accepte le code de conduite.
form-coc-read = Lire le code de conduite
form-submit = Demander une invitation
done-page-title = Merci
done-confirm-title = Presque fini — consultez vos e-mails
done-confirm-body = Nous avons envoyé un e-mail à l’adresse saisie. Ouvrez le lien qu’il contient et confirmez l’adresse ; votre demande pour rejoindre { $title } suivra alors son cours.
done-confirm-embed = Ouvrez le lien de l’e-mail que nous vous avons envoyé pour confirmer votre adresse.
done-confirm-spam = Pas d’e-mail ? Regardez dans vos courriers indésirables. Le lien est valable 24 heures.
done-title = Merci — votre demande est enregistrée
done-approval = Un administrateur de { $title } va examiner votre demande. S’il l’accepte, vous recevrez une invitation à { $team } par e-mail.
done-link-mail = Nous vous envoyons maintenant le lien d’invitation à { $team }. Suivez-le pour créer votre compte et nous rejoindre.
done-slack = Slack vous enverra une invitation à { $team } dans les prochaines minutes. Suivez le lien de cet e-mail pour créer votre compte et nous rejoindre.
done-spam = Pas d’e-mail ? Regardez dans vos courriers indésirables. Si vous êtes déjà invité ou membre, Slack n’en envoie pas d’autre.
done-back = Retour
