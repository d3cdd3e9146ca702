"""The cast of a sample workbook: customers' languages and names, the resellers, and how partners type
workload and status names. Fictional names; the workload and status spellings are those partners use."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from cpor_excel.model.catalogue import STATUSES


@dataclass(frozen=True)
class Locale:
    language: str
    weight: float
    countries: tuple[tuple[str, str, str], ...]  # (country, company TLD, public-sector TLD)
    first: tuple[str, ...]
    last: tuple[str, ...]
    titles: tuple[str, ...]
    stems: tuple[str, ...]
    sectors: tuple[str, ...]
    legal: tuple[str, ...]
    company: str  # format of a company name from {stem} {sector} {legal}
    public: tuple[str, ...]  # formats of a public body's name from {city}
    cities: tuple[str, ...]


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.split("|"))


LOCALES = (
    Locale(
        "en", 0.40,
        (("United Kingdom", ".co.uk", ".gov.uk"), ("United States", ".com", ".gov"), ("Ireland", ".ie", ".ie"),
         ("Australia", ".com.au", ".gov.au"), ("Canada", ".ca", ".ca")),
        _words("Olivia|James|Siobhán|Chloé|Zoë|Liam|Aoife|Seán|Renée|Emily|Oliver|Priya|Mohammed|Grace|Noah|Niamh"),
        _words("Smith|O'Brien|Patel|Walsh|Taylor|Murphy|Johnson|Evans|Brennan|Clarke|Hughes|Nguyen|García|Wright"),
        _words("IT Manager|Head of IT|IT Director|CIO|Operations Director|Office Manager|IT Administrator"),
        _words("Harbor|Riverside|Northgate|Summit|Oakridge|Bluewater|Kingsbridge|Redwood|Westbrook|Ashford|"
               "Pinecrest|Stonebridge|Brightwater|Clearview|Highfield|Lakeside|Thornbury|Fairhaven"),
        _words("Medical Group|Logistics|Engineering|Dental Care|Accountants|Construction|Property Management|"
               "Insurance Brokers|Veterinary Clinic|Architects|Foods|Packaging|Freight|Retail Group|Consulting"),
        _words("Ltd|Inc.|LLC|Ltd"),
        "{stem} {sector} {legal}",
        _words("{city} City Council|{city} County|{city} School District|{city} Housing Authority"),
        _words("Hartwell|Marlow|Ashby|Kingsport|Millbrook|Riverton|Eastleigh|Brookfield|Clearwater|Dunmore"),
    ),
    Locale(
        "de", 0.20,
        (("Germany", ".de", ".de"), ("Austria", ".at", ".gv.at"), ("Switzerland", ".ch", ".ch")),
        _words("Jürgen|Zoë|Björn|Anja|Käthe|Lukas|Sören|Jörg|Hannah|Günter|Mia|Felix|Lea|Tobias|Elif|Sabine"),
        _words("Müller|Schröder|Weiß|Köhler|Becker|Hoffmann|Krüger|Schäfer|Wagner|Lehmann|Fischer|Yılmaz|Böhm"),
        _words("IT-Leitung|Geschäftsführung|Systemadministration|Head of IT|CIO|Leitung Organisation"),
        _words("Brandt|Rheinfeld|Alpen|Nordlicht|Bergmann|Lindenhof|Hansa|Elbtal|Sonnenberg|Großmann|Weser|"
               "Falken|Isar|Böhmer|Adler|Wittmann|Löwen|Eichwald"),
        _words("Logistik|Maschinenbau|Steuerberatung|Bau|Elektrotechnik|Immobilien|Versicherungsmakler|"
               "Zahnmedizin|Druckerei|Lebensmittel|Architekten|Handel|Spedition|Metallbau"),
        _words("GmbH|AG|GmbH & Co. KG|GmbH"),
        "{stem} {sector} {legal}",
        _words("Stadtverwaltung {city}|Landkreis {city}|Stadtwerke {city}"),
        _words("Lüneburg|Rheinfeld|Altenau|Bergheim|Freudenstadt|Würzburg|Göttingen|Kempten|Fürth"),
    ),
    Locale(
        "fr", 0.15,
        (("France", ".fr", ".fr"), ("Belgium", ".be", ".be"), ("Luxembourg", ".lu", ".lu")),
        _words("François|Hélène|Amélie|Jérôme|Céline|Loïc|Noémie|Thibault|Benoît|Zoé|Gaëlle|Élodie|Raphaël|Inès"),
        _words("Lefèvre|Dubois|Girard|Fontaine|Moreau|Lambert|Rousseau|Bérard|Mercier|Faure|Chevalier|Lemaître"),
        _words("Responsable informatique|DSI|Responsable IT|Direction administrative|Responsable des opérations"),
        _words("Lumière|Beaulieu|Montclair|Valmont|Rochefort|Saint-Clair|Lafayette|Bellevue|Chambord|Vauban|"
               "Mistral|Garonne|Sèvres|Dauphiné"),
        _words("Transports|Conseil|Bâtiment|Expertise comptable|Immobilier|Assurances|Imprimerie|Ingénierie|"
               "Distribution|Architecture|Pharmacie"),
        _words("SAS|SARL|SA"),
        "{sector} {stem} {legal}",
        _words("Mairie de {city}|Communauté de communes de {city}|Conseil départemental de {city}"),
        _words("Sèvres|Chambéry|Évreux|Montélimar|Béziers|Orléans|Nîmes|Angoulême"),
    ),
    Locale(
        "nl", 0.15,
        (("Netherlands", ".nl", ".nl"), ("Belgium", ".be", ".be")),
        _words("Zoë|Daan|Sanne|Ruud|Joëlle|Bram|Fleur|Sem|Lotte|Thijs|Anouk|Jeroen|Eline|Noëlle|Stijn|Femke"),
        _words("de Vries|Jansen|van Dijk|Bakker|Visser|Smit|de Boer|Mulder|van den Berg|Dekker|Peeters|Maes"),
        _words("ICT-manager|Hoofd ICT|Directeur|Systeembeheerder|Officemanager|CIO"),
        _words("Zeeland|Polder|Dijkstra|Oranje|Molenaar|Tulp|Haven|Duin|Kempen|Vecht|Maas|Eem|IJssel"),
        _words("Bouw|Transport|Installatietechniek|Accountants|Advocaten|Vastgoed|Zorggroep|Techniek|"
               "Logistiek|Drukkerij|Tandartsen"),
        _words("B.V.|N.V.|B.V."),
        "{stem} {sector} {legal}",
        _words("Gemeente {city}|Waterschap {city}|Provincie {city}"),
        _words("Zwolle|Delft|Tilburg|Almere|Leeuwarden|Gouda|Hoorn|Assen|Roermond"),
    ),
    Locale(
        "es", 0.10,
        (("Spain", ".es", ".es"), ("Mexico", ".com.mx", ".gob.mx")),
        _words("José|María|Íñigo|Lucía|Álvaro|Nuria|Sofía|Andrés|Begoña|Martín|Raúl|Jesús|Ángela|Óscar"),
        _words("Martínez|Núñez|Peña|García|López|Fernández|Sánchez|Díaz|Muñoz|Jiménez|Álvarez|Ibáñez"),
        _words("Responsable de sistemas|Director de TI|CIO|Gerencia|Administración de sistemas"),
        _words("Ibérica|Levante|Montaña|Sol|Mediterránea|Cantábrica|Alhambra|Guadalquivir|Pirineo|Castilla|"
               "Aragón|Galicia"),
        _words("Logística|Construcciones|Asesores|Inmobiliaria|Seguros|Ingeniería|Alimentación|Transportes|"
               "Clínica Dental|Abogados|Distribuciones"),
        _words("S.L.|S.A.|S.L."),
        "{sector} {stem} {legal}",
        _words("Ayuntamiento de {city}|Diputación de {city}|Consorcio de Aguas de {city}"),
        _words("Cádiz|Málaga|Logroño|Córdoba|Ávila|León|Jaén|Alcalá"),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Partner:
    partner_id: int
    name: str
    language: str
    contacts: tuple[tuple[str, str], ...]  # (name, email)


PARTNERS = (
    Partner(4817203, "Northwind Cloud Partners Ltd", "en",
             (("Megan Bowen", "megan.bowen@northwindcloud.co.uk"), ("Seán Gallagher", "sean.gallagher@northwindcloud.co.uk"))),
    Partner(5120398, "Fabrikam Modern Work GmbH", "de",
             (("Jürgen Weiß", "juergen.weiss@fabrikam-modernwork.de"), ("Lena Voß", "lena.voss@fabrikam-modernwork.de"))),
    Partner(6034471, "Tailspin Digital SAS", "fr",
             (("Amélie Rousseau", "amelie.rousseau@tailspin-digital.fr"), ("Loïc Bernard", "loic.bernard@tailspin-digital.fr"))),
    Partner(4399025, "Wingtip IT Services B.V.", "nl",
             (("Joëlle Peeters", "joelle.peeters@wingtip-it.nl"), ("Bram Visser", "bram.visser@wingtip-it.nl"))),
    Partner(5561890, "Adatum Consulting S.L.", "es",
             (("Íñigo Echeverría", "inigo.echeverria@adatum-consulting.es"), ("Lucía Navarro", "lucia.navarro@adatum-consulting.es"))),
    Partner(6120947, "Proseware Solutions Inc.", "en",
             (("Priya Raman", "priya.raman@prosewaresolutions.com"), ("Dan Jump", "dan.jump@prosewaresolutions.com"))),
)  # fmt: skip

#: how often a customer has a workload (higher: more likely), in the catalogue's order
POPULARITY = {
    "Exchange Online": 9.5, "Microsoft Teams": 9.0, "SharePoint Online": 8.5, "OneDrive for Business": 8.0,
    "Microsoft 365 Apps": 7.0, "Microsoft Intune": 5.5, "Microsoft Entra ID P1/P2": 5.0,
    "Microsoft Defender for Endpoint": 4.0, "Microsoft Defender for Office 365": 3.5,
    "Microsoft Purview Information Protection": 2.5, "Teams Phone": 2.5, "Teams Meetings": 2.0,
    "Viva Engage": 1.5, "Power BI": 1.5, "Viva Insights": 1.0,
}  # fmt: skip
CORE = frozenset(list(POPULARITY)[:5])  # licensed for (nearly) every seat

#: how partners type a workload in their claim sheet: the catalogue name first, then what they also write
TYPED = {
    "Exchange Online": ("Exchange Online", "Exchange", "EXO"),
    "Microsoft Teams": ("Microsoft Teams", "Teams"),
    "SharePoint Online": ("SharePoint Online", "SharePoint", "SPO"),
    "OneDrive for Business": ("OneDrive for Business", "OneDrive"),
    "Microsoft 365 Apps": ("Microsoft 365 Apps", "ProPlus", "Office 365 ProPlus"),
    "Microsoft Intune": ("Microsoft Intune", "Intune"),
    "Microsoft Entra ID P1/P2": ("Microsoft Entra ID P1/P2", "Entra ID", "AADP", "Azure AD Premium"),
    "Microsoft Defender for Endpoint": ("Microsoft Defender for Endpoint", "Defender ATP", "MDE"),
    "Microsoft Defender for Office 365": ("Microsoft Defender for Office 365", "MDO"),
    "Microsoft Purview Information Protection": ("Microsoft Purview Information Protection", "AIP"),
    "Viva Engage": ("Viva Engage", "Yammer"),
}
#: the names Partner Center's usage report uses, as pasted into the Usage sheet
REPORTED = {
    "Exchange Online": "Exchange", "SharePoint Online": "SharePoint", "OneDrive for Business": "OneDrive",
    "Microsoft Teams": "Teams", "Microsoft 365 Apps": "Office 365 ProPlus",
}  # fmt: skip

#: statuses are dealt from shuffled decks: the first holds every status once, so each appears in a small
#: sample; later ones hold them in proportions a partner's sheet might have
FIRST_DECK = tuple(STATUSES)
STATUS_DECK = (
    ("Approved",) * 11 + ("Draft",) * 2 + ("Rejected",) * 2
    + ("Submitted", "Under review", "Partner action required", "Dispute", "Rejected final")
)  # fmt: skip
TYPED_STATUS = {
    "Draft": ("Draft", "Draft", "Draft", "In progress"),
    "Rejected": ("Rejected", "Rejected", "Customer declined"),
}

_TRANSLIT = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ı": "i"}
)


def ascii_name(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return folded.encode("ascii", "ignore").decode("ascii")


def slug(text: str, sep: str = "-") -> str:
    return re.sub(r"[^a-z0-9]+", sep, ascii_name(text).lower()).strip(sep)
