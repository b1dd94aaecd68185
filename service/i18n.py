"""User-facing error messages of the API, in French by default (settings.language) or English."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "too_large": {
        "fr": "Requête trop volumineuse (limite : {limit} octets).",
        "en": "Request too large (limit: {limit} bytes).",
    },
    "attachment_too_large": {
        "fr": "Pièce jointe {index} trop volumineuse (limite : {limit} octets une fois décodée).",
        "en": "Attachment {index} too large (limit: {limit} bytes decoded).",
    },
    "too_many_attachments": {
        "fr": "Trop de pièces jointes (limite : {limit}).",
        "en": "Too many attachments (limit: {limit}).",
    },
    "bad_length": {
        "fr": "En-tête Content-Length invalide.",
        "en": "Invalid Content-Length header.",
    },
    "invalid_json": {
        "fr": "Le corps de la requête n'est pas un JSON valide.",
        "en": "The request body is not valid JSON.",
    },
    "invalid_request": {
        "fr": "Requête invalide : {details}",
        "en": "Invalid request: {details}",
    },
    "invalid_message": {
        "fr": "Message invalide : {details}",
        "en": "Invalid message: {details}",
    },
    "too_complex": {
        "fr": "Message trop complexe à analyser (HTML trop imbriqué ?).",
        "en": "Message too complex to analyse (HTML nested too deeply?).",
    },
    "no_key": {
        "fr": "Clé d'API manquante : envoyez l'en-tête « Authorization: Bearer <clé> ».",
        "en": "Missing API key: send the header 'Authorization: Bearer <key>'.",
    },
    "bad_key": {
        "fr": "Clé d'API invalide ou révoquée.",
        "en": "Invalid or revoked API key.",
    },
    "admin_only": {
        "fr": "Cette opération demande une clé d'administration.",
        "en": "This operation needs an admin key.",
    },
    "not_ready": {
        "fr": "Le service démarre ou n'a pas de modèle chargé ; réessayez dans un instant.",
        "en": "The service is starting or has no model loaded; retry shortly.",
    },
    "timeout": {
        "fr": "L'analyse a dépassé le temps imparti ({seconds} s).",
        "en": "The analysis took longer than allowed ({seconds} s).",
    },
    "internal": {
        "fr": "Erreur interne du service (identifiant de requête : {request_id}).",
        "en": "Internal service error (request id: {request_id}).",
    },
    "not_found": {"fr": "Ressource introuvable.", "en": "Not found."},
    "method_not_allowed": {"fr": "Méthode non autorisée.", "en": "Method not allowed."},
    "reload_failed": {
        "fr": "Échec du chargement du modèle ({error}) ; l'ancien modèle reste en service.",
        "en": "Model load failed ({error}); the previous model stays in service.",
    },
    "feedback_recipient": {
        "fr": "« recipient » est obligatoire pour cette action.",
        "en": "'recipient' is required for this action.",
    },
    "feedback_replaced_by": {
        "fr": "« replaced_by » est obligatoire pour « changed_recipient ».",
        "en": "'replaced_by' is required for 'changed_recipient'.",
    },
    "bad_address": {
        "fr": "{field} : adresse e-mail invalide.",
        "en": "{field}: not an e-mail address.",
    },
}

# Pydantic error types → short French phrases (others fall back to pydantic's English text).
PYDANTIC_FR: dict[str, str] = {
    "missing": "champ obligatoire manquant",
    "string_type": "doit être une chaîne de caractères",
    "list_type": "doit être une liste",
    "dict_type": "doit être un objet",
    "model_type": "doit être un objet",
    "model_attributes_type": "doit être un objet JSON",
    "int_type": "doit être un entier",
    "float_type": "doit être un nombre",
    "bool_type": "doit être un booléen",
    "literal_error": "valeur non autorisée",
    "string_too_short": "trop court",
    "string_too_long": "trop long",
    "too_long": "trop d'éléments",
    "too_short": "pas assez d'éléments",
    "datetime_parsing": "date invalide (format ISO 8601 attendu)",
    "datetime_from_date_parsing": "date invalide (format ISO 8601 attendu)",
    "datetime_type": "date invalide (format ISO 8601 attendu)",
    "json_invalid": "JSON invalide",
    "value_error": "valeur invalide",
    "string_unicode": "texte Unicode invalide",
}


def message(code: str, language: str = "fr", **params: object) -> str:
    """The message ``code`` in ``language`` (French when unknown), formatted with params."""
    texts = MESSAGES[code]
    return texts.get(language, texts["fr"]).format(**params)
