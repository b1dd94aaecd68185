"""French mail templates with gold person spans, and ``annotated_mails`` for the NER work.

A mail is composed of parts (greeting, one or two body paragraphs, closing, signature), each
drawn from a pool. Placeholders ``{A.last}`` (addressee), ``{S.full}`` (signer), ``{T.full}``
/ ``{U.inv}`` / ``{D.last}`` (third parties) render a person's name and record its exact span;
``{A.civ}`` ("Madame"), ``{T.nir}``, ``{T.ddn}``… render values that are not name spans, so a
title never falls inside a span. Part ``i`` of a pool belongs to the held-out split when
``i % 4 == 3``: a held-out mail uses no part that any training mail uses.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, Protocol

from model.synthetic.ids import format_iban, format_nir, format_phone

Role = Literal["addressee", "signer", "third_party"]
Split = Literal["train", "heldout"]

ROLE_OF_KEY: dict[str, Role] = {
    "A": "addressee", "S": "signer", "T": "third_party", "U": "third_party", "D": "third_party",
}
NAME_FIELDS = {"first", "last", "full", "inv", "lastup", "fullup"}
_PLACEHOLDER = re.compile(r"\{(?:([A-Z])\.)?(\w+)\}")

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre"]


class Renderable(Protocol):
    """What a template needs of a person (the world's Person and annotated persons)."""

    first: str
    last: str
    sex: str
    birth: date | None
    nir: str | None
    iban: str | None
    phone: str | None
    postal: str | None


@dataclass(slots=True)
class SimplePerson:
    """A person for annotated mails (not part of any world)."""

    first: str
    last: str
    sex: str
    birth: date | None = None
    nir: str | None = None
    iban: str | None = None
    phone: str | None = None
    postal: str | None = None


@dataclass(slots=True)
class AnnotatedMail:
    """A French mail text with the gold spans of person names: ``(start, end, role)``."""

    text: str
    persons: list[tuple[int, int, str]] = field(default_factory=list)
    template_id: str = ""


# --- Part pools ------------------------------------------------------------------------------
# Greetings by relation.
GREETINGS: dict[str, list[str]] = {
    "colleague": ["Bonjour {A.first},", "Salut {A.first},", "{A.first},", "Hello {A.first},",
                  "Coucou {A.first},", "Bonjour {A.first}, j'espère que tu vas bien.",
                  "Re-bonjour {A.first},", "{A.first}, bonjour,"],
    "formal": ["Bonjour {A.civ} {A.last},", "{A.civ} {A.last},", "{A.cher} {A.civ} {A.last},",
               "Bonjour {A.civs} {A.last},", "Bonjour {A.full},", "{A.civ},",
               "Bonjour {A.civ},", "{A.cher} {A.civ} {A.full},"],
    "confrere": ["{A.cher} {A.confrere},", "{A.cher} Docteur {A.last},", "Bonjour Docteur {A.last},",
                 "{A.cher} {A.first},", "{A.cher} confrère, {A.cher2} ami{A.e},",
                 "Bonjour {A.first},", "Docteur,", "{A.cher} {A.confrere} et ami{A.e},"],
    # One person whose name the letter does not use (a patient, a contact at a partner).
    "generic": ["Bonjour,", "Madame, Monsieur,", "Bonjour Madame, Monsieur,", "Bonjour,\n"],
    # A team, a service mailbox, a distribution: never used for a single person, so a shifted
    # patient letter does not greet "l'équipe".
    "group": ["Bonjour,", "Madame, Monsieur,", "Bonjour à tous,", "Mesdames, Messieurs,",
              "Bonjour à toutes et à tous,", "Bonjour Madame, Monsieur,", "Bonjour à l'équipe,",
              "Bonjour,\n"],
}
CLOSINGS: dict[str, list[str]] = {
    "colleague": ["Merci !", "Bonne journée,", "Merci d'avance,", "À plus tard,", "Bises,",
                  "Bon courage,", "Merci beaucoup,", "Bonne fin de journée,"],
    "formal": ["Cordialement,", "Bien cordialement,", "Bien à vous,", "Avec mes remerciements,",
               "Restant à votre disposition,\nCordialement,", "Sincères salutations,",
               "Je vous prie d'agréer mes salutations distinguées.", "Très cordialement,"],
    "confrere": ["Confraternellement,", "Bien confraternellement,", "Amicalement,",
                 "Avec mes sentiments confraternels,", "Bien amicalement,",
                 "Je vous remercie de votre aide. Confraternellement,", "Merci et à bientôt,",
                 "Bien à vous,"],
}
SIGNATURES: dict[str, list[str]] = {
    "staff": ["{S.full}\n{fonction}\n{org_name}\n{org_address}\nTél. {org_phone}",
              "{S.fullup}\n{fonction} – {org_name}", "{S.full}\n{fonction}",
              "--\n{S.full}\n{org_name}\n{org_phone}", "{S.full}", "{S.full}\n{org_name}",
              "{S.first}", "--\n{S.fullup}\n{fonction}\nLigne directe : {org_phone}"],
    "doctor": ["Dr {S.full}\n{fonction}\n{org_name}\nRPPS {rpps}",
               "Docteur {S.fullup}\n{fonction}\n{org_address}", "Dr {S.last}",
               "{S.full}\n{fonction}", "Dr {S.full}\n{org_name}",
               "Docteur {S.full}", "Dr {S.full}", "--\nDr {S.fullup}\n{org_name} – {org_phone}"],
    "patient": ["{S.full}", "{S.full}\n{S.phone}", "{S.first}", "{S.civs} {S.last}",
                "{S.full}\n{S.postal}", "{S.inv}", "{S.fullup}", "{S.full}\nTél : {S.phone}"],
    "partner": ["{S.full}\n{fonction}\n{org_name}", "{S.fullup}\n{org_name}",
                "{S.full}\n{org_name}\n{org_phone}", "{S.full}", "{S.full} – {fonction}",
                "--\n{S.full}\n{fonction}", "{S.full}", "{S.full}\n{fonction} | {org_name}"],
    "service": ["{org_name}\n{org_address}", "Le service {fonction}\n{org_name}",
                "{org_name}", "--\n{org_name} – {org_phone}"],
}
DISCLAIMER = ("Ce message et toutes les pièces jointes sont confidentiels et établis à "
              "l'intention exclusive de ses destinataires. Si vous avez reçu ce message par "
              "erreur, merci d'en avertir immédiatement l'expéditeur et de le détruire.")

BODIES: dict[str, list[str]] = {
    "teletrans": [
        "Veuillez trouver ci-joint le bordereau de télétransmission du {date} ({n} FSE, montant total {montant} €).",
        "Suite à votre message, je vous renvoie le lot {lot} corrigé. Le dossier de {T.civs} {T.full} (NIR {T.nir}) avait été rejeté pour un problème de droits ; ils sont à jour depuis le {date}.",
        "Nous n'avons pas reçu l'accusé de réception du lot {lot} transmis le {date}. Pourriez-vous vérifier de votre côté ? Il concerne notamment {T.civs} {T.last}, NIR {T.nir}, pour {acte}.",
        "Ci-joint le bordereau des actes du {date}. Deux FSE sont à refaire en mode dégradé : {T.full} ({T.nir}) et {U.full} ({U.nir}).",
        "Je vous transmets en pièce jointe le récapitulatif des télétransmissions de la semaine. Merci de nous signaler les éventuels rejets.",
        "Pour {T.civs} {T.full}, {T.ne} le {T.ddn}, la feuille de soins du {date} a été envoyée deux fois par erreur. Pouvez-vous annuler le doublon ({montant} €) ?",
        "Voici le lot {lot} : {n} factures pour un total de {montant} €. Le détail par patient figure dans le fichier joint.",
        "Je reviens vers vous au sujet du rejet de la facture de {T.inv} (NIR {T.nir}, DDN {T.ddn}) : le code {ccam} était bien le bon.",
    ],
    "teletrans_internal": [
        "Je t'envoie le fichier de télétransmission du {date} avant l'envoi à la CPAM. Peux-tu vérifier les NIR, surtout celui de {T.civs} {T.full} ?",
        "Voici le bordereau du jour, {n} dossiers. J'ai un doute sur les droits de {T.full} ({T.nir}), tu pourras regarder ?",
        "Ci-joint la télétransmission du {date}. Il manque encore le RIB de {T.civs} {T.last} pour le remboursement : {T.iban} d'après son dernier courrier, à confirmer.",
        "Comme convenu, le lot {lot} est prêt. Je te laisse l'envoyer, je suis absent{S.e} cet après-midi.",
        "Petit rappel : les rejets de la semaine dernière concernent {T.full} et {U.full}. Je te mets les fichiers en pièce jointe.",
        "Peux-tu relire le bordereau joint ? {T.civs} {T.full}, {T.ne} le {T.ddn}, tél. {T.phone}, a appelé pour un remboursement en attente.",
        "Je t'ai mis le fichier sur le partage mais je te l'envoie aussi ici, au cas où. {n} FSE pour {montant} €.",
        "Voici le récapitulatif des FSE à retransmettre : {n} dossiers, dont celui de {T.inv} (NIR {T.nir}).",
    ],
    "courrier": [
        "Je vous adresse {T.civs} {T.full}, {T.ne} le {T.ddn}, pour avis concernant {motif}. Je vous remercie de bien vouloir {T.le} recevoir en consultation.",
        "Merci de votre courrier concernant {T.civs} {T.last}. Je {T.le_}ai revu{T.e} ce jour : {suivi}.",
        "Veuillez trouver ci-joint le compte-rendu de consultation de {T.civs} {T.full} (DDN {T.ddn}). Traitement actuel : {traitement}.",
        "Je me permets de vous solliciter pour {T.civs} {T.full}, {age} ans, suivi{T.e} pour {motif}. {T.il_cap} présente depuis quelques semaines {symptome}.",
        "Suite à l'hospitalisation de {T.civs} {T.last} dans votre service, pourriez-vous me transmettre le compte-rendu de sortie et les résultats {examen} ?",
        "Je vous remercie d'avoir vu {T.civs} {T.full}. Je prends note de vos conclusions et je renouvelle {traitement}.",
        "Ci-joint la lettre d'adressage pour {T.civs} {T.full} ({T.nir}). Coordonnées : {T.postal}, tél. {T.phone}.",
        "{T.civs} {T.full} souhaiterait un rendez-vous rapproché pour discuter des résultats {examen}. Pourriez-vous nous proposer un créneau ?",
    ],
    "courrier_sec": [
        "Veuillez trouver ci-joint le courrier du Dr {D.last} concernant {T.civs} {T.full}, {T.ne} le {T.ddn}.",
        "Le Dr {D.full} me charge de vous transmettre les résultats {examen} de {T.civs} {T.last}.",
        "Pourriez-vous nous faire parvenir le compte-rendu opératoire de {T.civs} {T.full} (DDN {T.ddn}) ? Le Dr {D.last} {T.le} revoit le {date_rdv}.",
        "Nous vous adressons la demande de rendez-vous pour {T.civs} {T.full}, tél. {T.phone}. Merci de {T.le} contacter directement.",
        "Suite à notre appel de ce matin, je vous confirme la demande d'hospitalisation de jour pour {T.civs} {T.full}, NIR {T.nir}.",
        "Le Dr {D.last} souhaiterait avoir un avis sur le dossier de {T.civs} {T.full} avant le {date_rdv}.",
        "Merci de bien vouloir adresser les prochains comptes-rendus de {T.civs} {T.last} au Dr {D.full}, son nouveau médecin traitant.",
        "Pour compléter le dossier de {T.inv}, {T.ne} le {T.ddn}, pouvez-vous nous envoyer la dernière ordonnance de sortie ?",
    ],
    "rdv": [
        "Nous vous confirmons votre rendez-vous du {date_rdv} à {heure} avec le Dr {D.full}.",
        "Votre rendez-vous du {date_rdv} avec le Dr {D.last} est annulé en raison d'une absence. Merci de nous rappeler au {org_phone} pour le reporter.",
        "Pour votre rendez-vous du {date_rdv}, merci de vous munir de votre carte Vitale, de votre attestation de mutuelle et de vos derniers résultats.",
        "Suite à votre appel, nous vous proposons un rendez-vous le {date_rdv} à {heure} pour {acte}.",
        "Nous avons bien reçu votre demande. Le Dr {D.last} pourra vous recevoir le {date_rdv} à {heure}.",
        "Petit rappel : vous avez rendez-vous le {date_rdv} à {heure} au centre de santé ({org_address}).",
        "Vos documents sont prêts : vous pouvez passer les récupérer à l'accueil à partir du {date_rdv}.",
        "Nous n'avons pas pu vous joindre au {A.phone}. Merci de nous recontacter pour fixer votre prochain rendez-vous.",
    ],
    "self": [
        "Comme convenu, voici vos résultats {examen} : {resultat}. Nous en reparlerons lors de votre prochaine consultation.",
        "Nous avons bien enregistré votre numéro de sécurité sociale ({A.nir}) et votre date de naissance ({A.ddn}). Votre dossier est à jour.",
        "Votre remboursement de {montant} € a été effectué sur le compte {A.iban}.",
        "Vous trouverez ci-joint votre ordonnance ({traitement}), à renouveler dans trois mois.",
        "Votre attestation de paiement pour la consultation du {date} est jointe à ce message.",
        "Suite à notre échange, je vous confirme l'envoi de la demande de prise en charge à votre mutuelle.",
        "Je vous joins le compte-rendu de votre examen du {date}. Pas d'anomalie notable ; à revoir dans six mois.",
        "Nous avons mis à jour votre adresse : {A.postal}, et votre téléphone : {A.phone}.",
    ],
    "interne": [
        "Peux-tu rappeler {T.civs} {T.full} au {T.phone} ? {T.il_cap} souhaite avancer son rendez-vous.",
        "{T.civs} {T.last} est passé{T.e} à l'accueil ce matin pour son ordonnance, elle est sur ton bureau.",
        "Je serai absent{S.e} jeudi après-midi, peux-tu prendre mes appels ?",
        "Le Dr {D.last} demande qu'on libère un créneau lundi pour {T.civs} {T.full}.",
        "La réunion d'équipe est décalée à {heure} demain, salle du premier étage.",
        "Attention, le dossier de {T.full} ({T.ddn}) est en double dans le logiciel, je fusionne les deux fiches.",
        "Peux-tu me confirmer l'adresse de {T.civs} {T.last} ? J'ai {T.postal} dans le dossier.",
        "Je te transfère le message de {T.civs} {T.full} : {T.il} n'a toujours pas reçu son remboursement.",
    ],
    "note_service": [
        "Pour information, le centre sera fermé le {date_rdv}. Merci d'en informer les patients.",
        "La réunion d'équipe mensuelle aura lieu le {date_rdv} à {heure}. Ordre du jour : planning des congés, télétransmission, nouveaux protocoles.",
        "Nous accueillons à partir du {date_rdv} {D.full}, qui rejoint l'équipe. Merci de lui réserver un bon accueil.",
        "Rappel : les mots de passe du logiciel métier doivent être changés avant le {date_rdv}.",
        "Le planning des gardes du mois prochain est en pièce jointe. Merci de me signaler les échanges avant vendredi.",
        "Suite à la visite de l'ARS, un rappel : les courriers médicaux aux confrères passent par la messagerie sécurisée (MSSanté), jamais par une adresse personnelle.",
        "Les entretiens annuels auront lieu à partir du {date_rdv}. Je vous enverrai les créneaux individuellement.",
        "Merci à toutes et à tous pour votre mobilisation pendant la campagne de vaccination.",
    ],
    "mutuelle": [
        "Nous sollicitons une prise en charge pour {T.civs} {T.full}, n° adhérent {adherent}, NIR {T.nir}, pour {acte} ({montant} €).",
        "Vous trouverez ci-joint la facture relative aux soins de {T.civs} {T.last} (DDN {T.ddn}).",
        "Le paiement du tiers payant du {date} ne nous est pas parvenu. Pouvez-vous vérifier le dossier de {T.full} ?",
        "Merci pour votre accord de prise en charge. Pouvez-vous confirmer le montant restant à la charge de {T.civs} {T.full} ?",
        "Pourriez-vous nous indiquer si {T.civs} {T.full}, {T.ne} le {T.ddn}, est toujours adhérent{T.e} chez vous ?",
        "Nous vous renvoyons le bordereau de tiers payant du {date} : {n} dossiers pour {montant} €.",
        "La carte de tiers payant de {T.civs} {T.last} (n° {adherent}) a expiré ; pouvez-vous nous confirmer ses droits ?",
        "Ci-joint le devis pour {T.inv}, NIR {T.nir}, en vue d'une prise en charge.",
    ],
    "cds": [
        "{T.civs} {T.full}, {T.ne} le {T.ddn}, a demandé le transfert de son dossier médical vers votre centre. Vous trouverez ci-joint la synthèse.",
        "Pouvez-vous nous transmettre le dossier de {T.civs} {T.full} (NIR {T.nir}), qui sera désormais suivi{T.e} chez nous ?",
        "Dans le cadre de la permanence des soins, voici nos disponibilités pour le mois prochain.",
        "Nous organisons une réunion des centres de santé du territoire le {date_rdv}. Seriez-vous disponibles ?",
        "Le Dr {D.full} assurera des vacations chez vous à partir du {date_rdv}, comme convenu.",
        "Pour {T.civs} {T.last}, le dernier bilan date du {date}. Je vous joins les résultats.",
        "Merci pour votre retour sur la convention de partenariat. Je la fais signer par notre direction.",
        "Pourriez-vous recevoir {T.civs} {T.full} en urgence ? Nous n'avons plus de créneau cette semaine.",
    ],
    "lab": [
        "Pourriez-vous nous renvoyer les résultats du bilan de {T.civs} {T.full}, {T.ne} le {T.ddn}, prélevé{T.e} le {date} ?",
        "Le Dr {D.last} souhaite ajouter un dosage {dosage} sur le prélèvement de {T.civs} {T.last}.",
        "Merci de transmettre désormais les résultats de {T.civs} {T.full} au Dr {D.full} du centre.",
        "Nous n'avons pas reçu les résultats de {T.inv} (DDN {T.ddn}). Pouvez-vous vérifier ?",
        "Veuillez trouver ci-joint l'ordonnance de {T.civs} {T.full} pour un bilan {dosage}.",
        "Le prélèvement à domicile de {T.civs} {T.last} ({T.postal}) est à programmer cette semaine.",
        "Pouvez-vous nous confirmer la réception des tubes déposés ce matin ?",
        "Les résultats de {T.civs} {T.full} semblent incomplets : il manque le dosage {dosage}.",
    ],
    "supplier": [
        "Veuillez trouver ci-joint notre bon de commande n° {commande} pour {fourniture}.",
        "Nous avons bien reçu votre facture n° {facture}. Le règlement sera effectué par virement sous 30 jours.",
        "Pourriez-vous nous faire parvenir un devis pour {fourniture} ?",
        "La livraison du {date} était incomplète : il manque {fourniture}.",
        "Merci de noter nos coordonnées bancaires pour l'avoir : {org_iban}.",
        "Pouvez-vous nous confirmer le délai de livraison de la commande {commande} ?",
        "Nous souhaitons renouveler le contrat de maintenance. Pouvez-vous nous envoyer une proposition ?",
        "Le règlement de la facture {facture} ({montant} €) a été effectué ce jour.",
    ],
    "cpam_q": [
        "Pouvez-vous vérifier les droits de {T.civs} {T.full}, NIR {T.nir} ? La carte Vitale n'est pas à jour.",
        "{T.civs} {T.full} ({T.ddn}) nous indique avoir changé de caisse. Pouvez-vous confirmer son rattachement ?",
        "Nous avons reçu un indu concernant {T.inv}, NIR {T.nir}, pour {acte}. Pouvez-vous nous en préciser le motif ?",
        "{T.civs} {T.full} est en ALD depuis le {date}. Le protocole de soins a-t-il bien été enregistré ?",
        "Pourriez-vous nous indiquer le bon interlocuteur pour les questions de tiers payant ?",
        "Nous n'avons pas reçu le paiement du lot {lot} ({montant} €). Pouvez-vous vérifier ?",
        "La complémentaire santé solidaire de {T.civs} {T.last} (NIR {T.nir}) est-elle toujours active ?",
        "Suite à notre échange téléphonique, je vous joins le justificatif demandé pour {T.full}.",
    ],
    "attestation": [
        "Veuillez trouver ci-joint votre attestation de paiement pour les soins du {date}. Bénéficiaire : {A.full}, NIR {A.nir}.",
        "Votre remboursement de {montant} € a été viré sur votre compte {A.iban} le {date}.",
        "Attestation de soins – {A.full}, {A.ne} le {A.ddn} : consultation du {date}, {acte}, {montant} €.",
        "Nous vous informons que votre dossier de remboursement est complet. Montant remboursé : {montant} €.",
        "Votre relevé de soins du mois est joint à ce message (NIR {A.nir}).",
        "Suite à votre demande, voici le récapitulatif de vos paiements : {montant} € réglés le {date}.",
        "Votre dossier de tiers payant a été mis à jour (NIR {A.nir}, né{A.e} le {A.ddn}).",
        "Le trop-perçu de {montant} € vous sera remboursé sur le compte {A.iban}.",
    ],
    "patient_in": [
        "Je souhaiterais prendre rendez-vous avec le Dr {D.last} pour {motif_patient}. Je suis joignable au {S.phone}.",
        "Je vous envoie mon RIB pour le remboursement : {S.iban}. Mon numéro de sécurité sociale est le {S.nir}.",
        "Suite à ma consultation du {date}, je n'ai pas reçu mon ordonnance. Pouvez-vous me la renvoyer ?",
        "Je ne pourrai pas venir à mon rendez-vous demain à {heure}. Merci de l'annuler.",
        "Pouvez-vous m'envoyer une attestation de présence pour mon employeur ? Ma date de naissance : {S.ddn}.",
        "J'ai changé d'adresse : {S.postal}. Merci de mettre à jour mon dossier.",
        "Je voudrais savoir si mes résultats {examen} sont arrivés.",
        "Mon numéro de sécurité sociale est {S.nir}, je ne l'avais pas donné lors de l'inscription.",
    ],
    "lab_in": [
        "Veuillez trouver ci-joint les résultats de {T.inv}, {T.ne} le {T.ddn}, prélèvement du {date}.",
        "Résultat critique pour {T.civs} {T.full} : {resultat}. Merci de prévenir {T.le} patient{T.e}.",
        "Les résultats du bilan {dosage} de {T.civs} {T.last} sont disponibles sur le serveur.",
        "Nous avons un tube non conforme pour {T.civs} {T.full} (NIR {T.nir}) ; un nouveau prélèvement est nécessaire.",
        "Le compte-rendu de biologie de {T.full} est joint.",
        "Suite à votre demande, le dosage {dosage} a été ajouté pour {T.civs} {T.last}.",
        "Résultats partiels de {T.inv} : le reste suivra demain.",
        "Nous ne trouvons pas d'ordonnance pour le prélèvement de {T.civs} {T.full}, {T.ne} le {T.ddn}.",
    ],
    "cpam_in": [
        "Le lot {lot} a fait l'objet de {n} rejets, dont {T.full} (NIR {T.nir}) : droits fermés.",
        "Nous accusons réception de votre envoi du {date}.",
        "Le paiement du lot {lot} ({montant} €) a été effectué le {date}.",
        "Le dossier de {T.civs} {T.full}, {T.ne} le {T.ddn}, est rattaché à la caisse du Calvados depuis le {date}.",
        "Pour répondre à votre question, les droits de {T.civs} {T.last} sont ouverts jusqu'au {date_rdv}.",
        "Un indu de {montant} € a été notifié pour {T.inv} (NIR {T.nir}).",
        "Merci de nous renvoyer la FSE de {T.civs} {T.full} avec le bon code acte.",
        "Votre demande concernant {T.full} est en cours de traitement.",
    ],
    "supplier_in": [
        "Veuillez trouver ci-joint notre facture n° {facture} d'un montant de {montant} € TTC. Règlement par virement : {org_iban}.",
        "Votre commande {commande} a été expédiée ce jour.",
        "Suite à votre demande, voici notre devis pour {fourniture}.",
        "Relance : la facture {facture} ({montant} €) reste impayée à ce jour.",
        "Nos coordonnées bancaires ont changé : {org_iban}. Merci de mettre à jour vos fichiers.",
        "Le technicien passera le {date_rdv} pour la maintenance.",
        "L'article {fourniture} est en rupture ; nous vous proposons un équivalent.",
        "Merci pour votre règlement de la facture {facture}.",
    ],
    "reply": [
        "Merci, bien reçu.", "C'est noté, merci.", "Je m'en occupe.", "Parfait, merci pour ton retour.",
        "Bien reçu, je regarde et je reviens vers vous.", "Merci beaucoup, c'est fait.",
        "D'accord, je transmets.", "Entendu, merci pour l'information.",
    ],
}

# Values used by the templates (none of them are names of people).
VALUES: dict[str, list[str]] = {
    "acte": ["une consultation (G)", "une consultation de suivi", "un ECG (DEQP003)",
             "une téléconsultation", "un frottis cervico-utérin (JKHD001)", "une visite à domicile",
             "un pansement lourd", "une vaccination", "une échographie abdominale (ZCQM001)",
             "une consultation longue", "un détartrage (HBJD001)", "une radiographie thoracique (ZBQK002)"],
    "ccam": ["DEQP003", "JKHD001", "ZCQM001", "HBJD001", "ZBQK002", "YYYY010", "GLQP012", "BGQP002"],
    "motif": ["une HTA mal équilibrée", "un diabète de type 2", "des douleurs thoraciques atypiques",
              "une dyspnée d'effort", "un nodule thyroïdien", "des lombalgies chroniques",
              "une suspicion de BPCO", "un bilan de chutes", "une fibrillation atriale",
              "une anémie ferriprive", "des troubles du sommeil", "une insuffisance rénale modérée"],
    "suivi": ["l'évolution est favorable", "la tension est mieux contrôlée",
              "je poursuis le traitement en cours", "les douleurs persistent malgré le traitement",
              "l'état général est stable"],
    "traitement": ["metformine 1000 mg deux fois par jour", "ramipril 5 mg", "bisoprolol 2,5 mg",
                   "atorvastatine 20 mg", "lévothyroxine 75 µg", "paracétamol à la demande",
                   "amoxicilline 1 g trois fois par jour pendant 7 jours", "apixaban 5 mg"],
    "examen": ["de la prise de sang", "de l'échographie", "du scanner thoracique", "de l'IRM lombaire",
               "de l'ECG", "de la radiographie", "de l'holter tensionnel", "du bilan lipidique"],
    "resultat": ["HbA1c à 7,2 %", "créatinine à 112 µmol/l", "hémoglobine à 10,8 g/dl",
                 "TSH à 5,9 mUI/l", "LDL à 1,62 g/l", "ferritine basse", "CRP à 48 mg/l"],
    "symptome": ["une asthénie marquée", "des palpitations", "des vertiges", "une toux persistante",
                 "des douleurs abdominales", "une perte de poids"],
    "dosage": ["de la TSH", "de l'HbA1c", "de la ferritine", "de la vitamine D", "des D-dimères",
               "de la créatinine", "du PSA"],
    "fourniture": ["des gants nitrile (20 boîtes)", "des compresses stériles", "du gel hydroalcoolique",
                   "des abaisse-langues", "des draps d'examen", "des cartouches d'encre",
                   "un tensiomètre", "des aiguilles sécurisées", "des rouleaux de papier ECG"],
    "motif_patient": ["un renouvellement d'ordonnance", "un certificat de sport", "un vaccin",
                      "des douleurs au dos", "un suivi de tension", "ma fille qui tousse"],
}


class _Renderer:
    """Renders templates into one text while recording name spans."""

    def __init__(self, rng: random.Random, persons: dict[str, Renderable], values: dict[str, str]):
        self.rng = rng
        self.persons = persons
        self.values = values
        self.parts: list[str] = []
        self.length = 0
        self.spans: list[tuple[int, int, str]] = []

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def render(self, template: str) -> None:
        pos = 0
        for m in _PLACEHOLDER.finditer(template):
            self.add(template[pos:m.start()])
            key, name = m.group(1), m.group(2)
            if key is None:
                self.add(self._value(name))
            else:
                person = self.persons[key]
                text = person_field(person, name, self.rng)
                start = self.length
                self.add(text)
                if name in NAME_FIELDS and key in ROLE_OF_KEY:
                    self.spans.append((start, start + len(text), ROLE_OF_KEY[key]))
            pos = m.end()
        self.add(template[pos:])

    def _value(self, name: str) -> str:
        if name in self.values:
            return self.values[name]
        if name in VALUES:
            return self.rng.choice(VALUES[name])
        return self._generated(name)

    def _generated(self, name: str) -> str:
        rng = self.rng
        if name in ("date", "date_rdv"):
            return f"{rng.randint(1, 28)} {rng.choice(MONTHS)}" if rng.random() < 0.5 else \
                f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/2025"
        if name == "heure":
            return f"{rng.randint(8, 18)}h{rng.choice(['00', '15', '30', '45'])}"
        if name == "montant":
            return f"{rng.randint(25, 2400)},{rng.randint(0, 99):02d}"
        if name == "n":
            return str(rng.randint(3, 40))
        if name == "lot":
            return f"{rng.randint(100, 999)}"
        if name == "age":
            return str(rng.randint(18, 92))
        if name == "adherent":
            return f"{rng.randint(10**7, 10**8 - 1)}"
        if name == "commande":
            return f"BC-2025-{rng.randint(1, 400):04d}"
        if name == "facture":
            return f"F{rng.randint(10000, 99999)}"
        if name == "rpps":
            return "10" + "".join(str(rng.randint(0, 9)) for _ in range(9))
        return ""

    def text(self) -> str:
        return "".join(self.parts)


# Template fields whose word agrees with the person's sex: name -> (feminine, masculine).
GENDERED: dict[str, tuple[str, str]] = {
    "civ": ("Madame", "Monsieur"),
    "civs": ("Mme", "M."),
    "ne": ("née", "né"),
    "e": ("e", ""),
    "le": ("la", "le"),
    "le_": ("l'", "l'"),
    "il": ("elle", "il"),
    "il_cap": ("Elle", "Il"),
    "cher": ("Chère", "Cher"),
    "cher2": ("chère", "cher"),
    "confrere": ("consœur", "confrère"),
}


def person_field(p: Renderable, name: str, rng: random.Random) -> str:
    """One field of a person as it appears in French mail."""
    fem = p.sex == "F"
    if name == "first":
        return p.first
    if name == "last":
        return p.last
    if name == "full":
        return f"{p.first} {p.last}"
    if name == "inv":
        return f"{p.last.upper()} {p.first}"
    if name == "lastup":
        return p.last.upper()
    if name == "fullup":
        return f"{p.first} {p.last.upper()}"
    if name in GENDERED:
        feminine, masculine = GENDERED[name]
        return feminine if fem else masculine
    if name == "ddn":
        b = p.birth or date(1970, 1, 1)
        return f"{b.day:02d}/{b.month:02d}/{b.year}" if rng.random() < 0.8 else \
            f"{b.day} {MONTHS[b.month - 1]} {b.year}"
    if name == "nir":
        return format_nir(p.nir or "", rng.choice([0, 0, 1, 2]))
    if name == "iban":
        return format_iban(p.iban or "", rng.random() < 0.8)
    if name == "phone":
        return format_phone(p.phone or "0600000000", rng.choice([0, 0, 1, 2]))
    if name == "postal":
        return p.postal or ""
    raise KeyError(name)


def pool_items(pool: list[str], split: Split | None) -> list[tuple[int, str]]:
    """The ``(index, part)`` items of a pool usable in a split (``None``: all of them)."""
    if split is None:
        return list(enumerate(pool))
    return [(i, t) for i, t in enumerate(pool) if (i % 4 == 3) == (split == "heldout")]


def choose(rng: random.Random, pool_name: str, pool: list[str], split: Split | None,
           exclude: tuple[int, ...] = ()) -> tuple[str, str]:
    """A random part of a pool and its id ``pool:index``."""
    items = [it for it in pool_items(pool, split) if it[0] not in exclude] or pool_items(pool, split)
    i, text = rng.choice(items)
    return f"{pool_name}:{i}", text


@dataclass(slots=True)
class Composition:
    """What a mail is made of: greeting, body, closing and signature parts."""

    greeting: str  # GREETINGS key
    topic: str  # BODIES key
    closing: str  # CLOSINGS key
    signature: str  # SIGNATURES key
    paragraphs: int = 1
    disclaimer: bool = False


def compose(rng: random.Random, comp: Composition, persons: dict[str, Renderable],
            values: dict[str, str], split: Split | None = None) -> AnnotatedMail:
    """Render a mail from its composition; gold spans of every name placed."""
    r = _Renderer(rng, persons, values)
    ids: list[str] = []
    need_named = "A" in persons
    greet_pool = GREETINGS[comp.greeting]
    gid, greet = choose(rng, f"greet.{comp.greeting}", greet_pool, split)
    if not need_named and "{A." in greet:
        gid, greet = "greet.generic:0", "Bonjour,"
    ids.append(gid)
    r.render(greet)
    r.add("\n\n")
    used: list[int] = []
    for k in range(comp.paragraphs):
        bid, body = choose(rng, f"body.{comp.topic}", BODIES[comp.topic], split, tuple(used))
        used.append(int(bid.rsplit(":", 1)[1]))
        ids.append(bid)
        if k:
            r.add("\n\n")
        r.render(body)
    r.add("\n\n")
    cid, closing = choose(rng, f"close.{comp.closing}", CLOSINGS[comp.closing], split)
    ids.append(cid)
    r.render(closing)
    r.add("\n")
    sid, sig = choose(rng, f"sig.{comp.signature}", SIGNATURES[comp.signature], split)
    ids.append(sid)
    r.render(sig)
    if comp.disclaimer:
        r.add("\n\n" + DISCLAIMER)
    r.add("\n")
    return AnnotatedMail(r.text(), r.spans, "+".join(ids))


def render_line(rng: random.Random, template: str, persons: dict[str, Renderable],
                values: dict[str, str]) -> str:
    """Render one template (a subject, a line of a letter) without spans."""
    r = _Renderer(rng, persons, values)
    r.render(template)
    return r.text()
