lang-name = Español
lang-switch = Idioma
skip-link = Ir al contenido
join-title = Únete a { $title }
join-embed-title = Únete a { $title } en Slack
join-on-slack = { $team } en Slack
join-members = { $count ->
    [one] { $count } miembro
   *[other] { $count } miembros
}
join-coc-note = Los miembros siguen el código de conducta de la comunidad:
join-coc-link = código de conducta
join-privacy = Solo usamos tu dirección para invitarte a Slack.
form-email = Correo electrónico
form-name = Tu nombre
form-optional = (opcional)
form-honeypot = Deja este campo vacío
form-coc-accept = He leído y acepto el código de conducta.
form-coc-read = Leer el código de conducta
form-submit = Solicitar una invitación
done-page-title = Gracias
done-confirm-title = Ya casi está: revisa tu correo
done-confirm-body = Enviamos un correo a la dirección que indicaste. Abre el enlace y confirma la dirección; después tu solicitud para unirte a { $title } seguirá adelante.
done-confirm-embed = Abre el enlace del correo que te enviamos para confirmar tu dirección.
done-confirm-spam = ¿No llega el correo? Revisa la carpeta de spam. El enlace vale 24 horas.
done-title = Gracias: hemos recibido tu solicitud
done-approval = Un administrador de { $title } revisará tu solicitud. Si la aprueba, recibirás por correo una invitación a { $team }.
done-link-mail = Te estamos enviando ahora el enlace de invitación a { $team }. Síguelo para crear tu cuenta y unirte.
done-slack = Slack te enviará una invitación a { $team } en los próximos minutos. Sigue el enlace de ese correo para crear tu cuenta y unirte.
done-spam = ¿No llega el correo? Revisa la carpeta de spam. Si ya te invitaron o ya eres miembro, Slack no envía otro.
done-back = Volver
