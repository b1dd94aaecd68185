"""Reason codes and their messages, French and English.

A message may name a person (the greeting, a patient mentioned): it goes into the response
only, never into a log. Templates are filled with ``str.format``.
"""

from __future__ import annotations

REASONS: dict[str, dict[str, str]] = {
    "never_written": {
        "fr": "Vous n'avez jamais écrit à cette adresse",
        "en": "You have never written to this address",
    },
    "new_domain": {
        "fr": "Personne de votre organisation n'a jamais écrit au domaine {domain}",
        "en": "Nobody in your organisation has ever written to the domain {domain}",
    },
    "near_duplicate": {
        "fr": "À {distance} de {contact}, à qui vous avez écrit {count} fois",
        "en": "{distance} away from {contact}, to whom you have written {count} times",
    },
    "near_duplicate_org": {
        "fr": "À {distance} de {contact}, à qui votre organisation a écrit {count} fois",
        "en": "{distance} away from {contact}, to whom your organisation has written {count} times",
    },
    "autocomplete_neighbour": {
        "fr": "Commence comme {contact}, à qui vous avez écrit {count} fois : erreur d'autocomplétion ?",
        "en": "Starts like {contact}, to whom you have written {count} times: an autocomplete slip?",
    },
    "homonym": {
        "fr": "Même {what} que {contact}, à qui vous avez écrit {count} fois",
        "en": "Same {what} as {contact}, to whom you have written {count} times",
    },
    "rarely_written": {
        "fr": "Vous n'avez écrit que {count} fois à cette adresse, la dernière il y a {days} jours",
        "en": "You have written only {count} times to this address, the last {days} days ago",
    },
    "topic_mismatch": {
        "fr": "Ce message ne ressemble pas à ce que vous échangez avec ce destinataire",
        "en": "This message does not look like what you exchange with this recipient",
    },
    "better_topic_fit": {
        "fr": "Ce sujet correspond mieux à {contact}",
        "en": "This subject fits {contact} better",
    },
    "greeting_mismatch": {
        "fr": "Le message s'adresse à {name}, pas à ce destinataire",
        "en": "The message greets {name}, not this recipient",
    },
    "greeting_gender": {
        "fr": "Le message s'adresse à « {word} », mais ce destinataire semble être {who}",
        "en": "The message greets “{word}”, but this recipient appears to be {who}",
    },
    "nir_not_recipient": {
        "fr": "Le NIR du message n'est pas celui du titulaire de cette adresse Mon espace santé",
        "en": "The NIR in the message is not that of this Mon espace santé address's holder",
    },
    "nir_gender": {
        "fr": "Le NIR du message est celui {holder}, mais ce destinataire semble être {who}",
        "en": "The NIR in the message is {holder}'s, but this recipient appears to be {who}",
    },
    "kind_mismatch": {
        "fr": "Ce message ressemble à ce que votre organisation écrit à {usual}, pas à {this}",
        "en": "This message looks like what your organisation writes to {usual}, not to {this}",
    },
    "third_party_data": {
        "fr": "Le message concerne {name}, pas ce destinataire",
        "en": "The message is about {name}, not this recipient",
    },
    "sensitive_to_private": {
        "fr": "Données sensibles ({what}) vers une messagerie personnelle",
        "en": "Sensitive data ({what}) going to a personal mailbox",
    },
    "unusual_corecipient": {
        "fr": "Ce destinataire n'a jamais été en copie avec les autres destinataires",
        "en": "This recipient has never been on a message with the other recipients",
    },
    "wrong_organisation": {
        "fr": "Autre organisme que d'habitude : vous écrivez plutôt à {contact} ({count} fois)",
        "en": "Not the usual organisation: you usually write to {contact} ({count} times)",
    },
}

ADVICE: dict[str, dict[str, str]] = {
    "use_mssante": {
        "fr": "Des données de santé partent vers une messagerie personnelle : utilisez une "
              "messagerie sécurisée de santé (MSSanté) ou un dépôt sur un espace patient sécurisé.",
        "en": "Health data is going to a personal mailbox: use secure health messaging "
              "(MSSanté) or a deposit on a secure patient platform.",
    },
    "encrypt_attachment": {
        "fr": "Chiffrez la pièce jointe (archive protégée par un mot de passe transmis par un "
              "autre canal).",
        "en": "Encrypt the attachment (an archive protected by a password sent another way).",
    },
    "check_recipients": {
        "fr": "Vérifiez les destinataires avant l'envoi : une erreur d'adresse avec des données "
              "personnelles est une violation à notifier à la CNIL sous 72 h.",
        "en": "Check the recipients before sending: personal data sent to the wrong address is "
              "a breach to notify within 72 hours.",
    },
}

DISTANCE_WORDS = {
    "fr": {1: "une lettre", 2: "deux lettres"},
    "en": {1: "one letter", 2: "two letters"},
}
# Who the greeting's gender says the recipient is not: (greeting word, who the recipient is).
GENDER_WORDS = {"fr": {"F": ("Madame", "un homme"), "M": ("Monsieur", "une femme")},
                "en": {"F": ("Madam", "a man"), "M": ("Sir", "a woman")}}
# Whose NIR the message carries, and who the recipient is instead: (holder, recipient).
NIR_GENDER_WORDS = {"fr": {"M": ("d'un homme", "une femme"), "F": ("d'une femme", "un homme")},
                    "en": {"M": ("a man", "a woman"), "F": ("a woman", "a man")}}
# How a kind of mailbox is named in the kind_mismatch reason ("… écrit à vos collègues").
KIND_WORDS = {
    "fr": {"internal": "vos collègues", "partner": "des organismes partenaires",
           "webmail": "une messagerie personnelle", "mssante": "une messagerie MSSanté",
           "patient": "l'espace santé d'un patient", "cpam": "la CPAM"},
    "en": {"internal": "your colleagues", "partner": "partner organisations",
           "webmail": "a personal mailbox", "mssante": "an MSSanté mailbox",
           "patient": "a patient's health space", "cpam": "the health-insurance fund (CPAM)"},
}
HOMONYM_WORDS = {"fr": {1: "prénom", 2: "nom", 3: "nom et prénom"},
                 "en": {1: "first name", 2: "last name", 3: "full name"}}


# How each kind of sensitive data is named in a reason (the response's keys stay as in SPEC §4).
SENSITIVE_LABELS: dict[str, dict[str, str]] = {
    "NIR": {"fr": "NIR", "en": "social-security numbers"},
    "IBAN": {"fr": "IBAN", "en": "IBANs"},
    "BIRTH_DATE": {"fr": "dates de naissance", "en": "birth dates"},
    "HEALTH": {"fr": "données de santé", "en": "health data"},
}


def sensitive_label(kind: str, language: str = "fr") -> str:
    """The words for a kind of sensitive data (``BIRTH_DATE`` → "dates de naissance")."""
    table = SENSITIVE_LABELS.get(kind)
    return (table.get(language) or table["fr"]) if table else kind


def reason_text(code: str, language: str = "fr", **values: object) -> str:
    """The message of a reason code in ``language`` (French by default)."""
    table = REASONS[code]
    template = table.get(language) or table["fr"]
    return template.format(**values)


def advice_text(code: str, language: str = "fr") -> str:
    table = ADVICE[code]
    return table.get(language) or table["fr"]
