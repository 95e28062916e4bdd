"""The words around a country's name, in English, French and Spanish, that tell whether it names one there.

Words of place ("in", "au", "en") and weaker links ("from", "de") before a name; words of business or
law near it ("supplier", "usine", "ley"); the nouns beside which an adjective of nationality that is
also a language counts ("French law") and the words that make it a language ("in French", "parle
espagnol"); titles, openers ("my name is") and capitalised words that are no surname, which tell a
person from a country; and the signs that a name is a US state, food, fabric or a currency, that "US"
is shouted ("CONTACT US"), or which Congo is meant. Used by :mod:`kb.places`, against text folded by
:func:`kb.country_names.fold` (lower case, no accents), so the words here are folded too.

Constants only (sets of words, a tuple and a few small regexes): nothing to build, nothing cached.
"""

from __future__ import annotations

import re

__all__ = [
    "ALLCAPS_VERBS", "ARTICLES", "CAUCASUS_SIGNALS", "CHECKED_IN_CONTEXT", "CONGO_SIGNALS", "CUES",
    "FABRIC_AFTER", "FOOD_AFTER", "FOOD_BEFORE", "LANGUAGE_AFTER", "LANGUAGE_BEFORE", "LINK_WORDS",
    "NATIONAL_NOUNS", "NOT_SURNAMES", "OPENERS", "PLACE_WORDS", "TITLES", "US_NOT_COUNTRY_AFTER",
    "US_STATE_SIGNALS",
]


#: Words of place before a name: "in Guatemala", "au Maroc", "en el Perú", "within the EU".
PLACE_WORDS = frozenset({
    "in", "inside", "within", "across", "throughout", "en", "au", "aux", "dans", "a", "dentro",
})
#: Weaker links: "from Ghana", "to Qatar", "of Peru", "du Maroc", "de Chile", "desde México".
LINK_WORDS = frozenset({
    "from", "to", "into", "of", "for", "de", "du", "des", "d", "del", "desde", "hacia", "vers", "para", "pour",
    "between", "entre", "via", "por",
})
ARTICLES = frozenset({"the", "le", "la", "les", "l", "el", "los", "las"})

#: Words of business or law near a name that show the query is about that country.
CUES = frozenset("""
supplier suppliers supply sourcing sourced source factory factories plant plants operation operations operate
operates operating subsidiary subsidiaries site sites facility facilities mine mines mining farm farms
plantation plantations warehouse warehouses workshop workshops mill mills manufacturer manufacturers manufacturing
production producer producers contractor contractors subcontractor subcontractors vendor vendors workers worker
employees employee staff workforce office offices branch branches affiliate affiliates based located
headquartered recruitment recruited recruit migrant migrants garment garments textile textiles
law laws legislation legal code regulation regulations ratified ratify government ministry authorities courts
company companies firm firms employer employers brand brands buyer buyers market
fournisseur fournisseurs fournisseuse usine usines filiale filiales sous traitant traitants soustraitant
atelier ateliers exploitation exploitations entrepot entrepots producteur producteurs fabricant fabricants
fabrication travailleurs travailleur travailleuses salaries employes personnel activites operations implantation
implantations bureau bureaux succursale succursales approvisionnement usine sites loi lois legislation droit
reglementation gouvernement ministere autorites tribunaux entreprise entreprises societe societes employeur
employeurs marque marques acheteur acheteurs recrutement migrants ouvriers ouvrieres
proveedor proveedores proveedora planta plantas fabrica fabricas filial filiales subcontratista subcontratistas
taller talleres plantacion plantaciones mina minas almacen almacenes produccion productor productores
fabricante fabricantes maquila maquilas maquiladora maquiladoras trabajadores trabajador trabajadoras empleados
empleadas personal operaciones operamos finca fincas oficina oficinas sucursal sucursales abastecimiento
ley leyes legislacion codigo normativa gobierno ministerio autoridades tribunales empresa empresas compania
companias empleador empleadores marca marcas comprador compradores reclutamiento migrantes obreros sede
""".split())
#: Nouns that make an adjective of nationality that is also a language count ("French law", "ley española").
NATIONAL_NOUNS = CUES | frozenset("""
labour labor context nationals citizens citizen ports port embassy consulate customs union unions
contexte ressortissants syndicat syndicats ambassade
contexto nacionales ciudadanos sindicato sindicatos embajada
""".split())
#: Words before an adjective that make it a language: "in French", "parle espagnol", "en español".
LANGUAGE_BEFORE = frozenset("""
in into en speak speaks speaking spoken parle parlez parlons parlent habla hablo hablamos hablan translate
translated translation traduire traduit traduction traducir traducido traduccion version my mon mi our notre
nuestro nuestra
""".split())
LANGUAGE_AFTER = frozenset("""
version versions translation speaking speaker speakers language langue idioma lengua text texte texto
subtitles hablantes parlant parlants
""".split())
TITLES = frozenset("""
mr mrs ms mx dr prof sir m mme mlle sr sra srta don dona senor senora monsieur madame mademoiselle
herr frau miss
""".split())
#: Capitalised words after a country's name that are no surname ("Jordan Valley", "Georgia Tech").
NOT_SURNAMES = frozenset("""
valley river basin delta republic government ministry office labour labor law laws code tech state province
city capital university institute national bank airways airlines house embassy limited ltd plc inc group
company corporation
""".split())
OPENERS = ("my name is", "name is", "i am", "i'm", "im", "this is", "je m'appelle", "m'appelle", "je suis",
            "me llamo", "soy", "mi nombre es")

US_STATE_SIGNALS = re.compile(
    r"\b(?:atlanta|savannah|augusta|macon|columbus,?\s*ga|athens,?\s*ga|georgia,?\s*(?:usa|u\.s\.a?\.?|us)\b|"
    r"ga\s+\d{5}|state\s+of\s+georgia|peach\s+state)"
)
CAUCASUS_SIGNALS = re.compile(r"\b(?:tbilisi|batumi|kutaisi|caucasus|caucase|caucaso|georgian\s+lari|lari)\b")
CONGO_SIGNALS = {
    "CD": re.compile(r"\b(?:kinshasa|lubumbashi|katanga|kolwezi|kivu|goma|bukavu|ituri|kasai|cobalt|coltan|"
                     r"drc|rdc|democratic|democratique|democratica)\b"),
    "CG": re.compile(r"\b(?:brazzaville|pointe[\s-]noire)\b"),
}
FOOD_BEFORE = frozenset({"roast", "roasted", "smoked", "sliced", "thanksgiving", "christmas", "wild", "ground",
                          "stuffed", "eat", "ate", "cooked"})
FOOD_AFTER = frozenset({"sandwich", "sandwiches", "breast", "meat", "dinner", "bacon", "burger", "burgers",
                         "slices", "leg", "legs", "wings", "stuffing", "roast", "club", "ham", "gravy"})
FABRIC_AFTER = frozenset({"fabric", "fabrics", "knit", "knitted", "cotton", "shirt", "shirts", "dress", "top",
                           "tops", "tissu", "maille", "coton", "tela", "algodon", "punto"})
US_NOT_COUNTRY_AFTER = frozenset({"dollar", "dollars", "dolares", "dolar", "cents", "cent"})
ALLCAPS_VERBS = frozenset({"contact", "help", "join", "about", "for", "with", "to", "let", "tell", "send",
                            "email", "call", "give", "write", "follow", "visit", "ask", "of", "from", "all",
                            "between", "among", "by", "save", "trust", "support", "find", "meet"})

#: Names looked at in context whatever their case rule.
CHECKED_IN_CONTEXT = frozenset({"georgia", "turkey", "jersey", "us", "u s"})
