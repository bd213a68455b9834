lang-name = Deutsch
lang-switch = Sprache
skip-link = Zum Inhalt springen
join-title = { $title } beitreten
join-embed-title = { $title } auf Slack beitreten
join-on-slack = { $team } auf Slack
join-members = { $count ->
    [one] { $count } Mitglied
   *[other] { $count } Mitglieder
}
join-coc-note = Mitglieder halten sich an den Verhaltenskodex der Community:
join-coc-link = Verhaltenskodex
join-privacy = Wir verwenden deine Adresse nur, um dich zu Slack einzuladen.
form-email = E-Mail-Adresse
form-name = Dein Name
form-optional = (freiwillig)
form-honeypot = Dieses Feld leer lassen
form-coc-accept = Ich habe den Verhaltenskodex gelesen und akzeptiere ihn.
form-coc-read = Verhaltenskodex lesen
form-submit = Einladung anfragen
done-page-title = Danke
done-confirm-title = Fast geschafft – schau in dein Postfach
done-confirm-body = Wir haben eine Mail an die eingegebene Adresse geschickt. Öffne den Link darin und bestätige die Adresse; dann geht deine Anfrage für { $title } weiter.
done-confirm-embed = Öffne den Link in unserer Mail, um deine Adresse zu bestätigen.
done-confirm-spam = Keine Mail angekommen? Sieh im Spam-Ordner nach. Der Link gilt 24 Stunden.
done-title = Danke – deine Anfrage ist eingegangen
done-approval = Ein Admin von { $title } sieht sich deine Anfrage an. Wird sie angenommen, bekommst du eine Einladung zu { $team } per E-Mail.
done-link-mail = Wir schicken dir jetzt den Einladungslink zu { $team }. Folge ihm, um ein Konto anzulegen und beizutreten.
done-slack = Slack schickt dir in den nächsten Minuten eine Einladung zu { $team }. Folge dem Link in dieser E-Mail, um ein Konto anzulegen und beizutreten.
done-spam = Keine E-Mail angekommen? Sieh im Spam-Ordner nach. Wer schon eingeladen oder Mitglied ist, bekommt von Slack keine weitere.
done-back = Zurück
