"""Every sentence of the web interface, in one place: Dutch first (DESIGN.md, People-facing side).

Each sentence is written here once, in Dutch, under a key (``NL``); its translations live in the
gettext catalogs ``node/locale/<lang>/LC_MESSAGES/messages.po`` (docs/translations.md), found
by ``pybabel extract`` through ``node.web.i18n.extract_strings``. Templates read ``t.<key>``
(``t.key.format(name=…)`` where a value goes in); code calls ``text(key, **values)``. Both
answer in the language of the current request (``node.web.i18n``). The labels of themes and
value lists carry both languages themselves (``protocol.themes``). Texts are plain strings: the
templates escape them like any other value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from node.web.i18n import translate

NL: dict[str, str] = {
    # page chrome
    "skip_link": "Direct naar de inhoud",
    "nav_main": "Hoofdmenu",
    "nav_home": "Start",
    "nav_initiatives": "Initiatieven",
    "nav_about": "Over dit knooppunt",
    "nav_account": "Account",
    "signed_in_as": "Aangemeld als",
    "new_item": "Nieuw item",
    "sign_in": "Aanmelden",
    "sign_out": "Afmelden",
    "to_home": "Naar de startpagina",
    "required": "verplicht",
    "error_prefix": "Fout",
    "error_summary": "Er is iets niet goed ingevuld",
    "footer_network": "{name} is een knooppunt van Kennisknoop, het kennisnetwerk van kleine "
                      "kernen.",
    "footer_follow_before": "Volg",
    "footer_follow_after": "vanaf Mastodon of een andere ActivityPub-dienst.",
    # the help section (node.web.help_pages, docs/help.md)
    "help_nav": "Hulp",
    "help_all": "Alle hulp",
    "help_topics": "Meer hulp",
    "help_link": "Hulp bij deze stap",
    # bridges: feeds and calendars (docs/bridges.md)
    "feeds_title": "Volgen met een feedlezer",
    "feed_items": "Kennis op {name}",
    "feed_search": "Zoekresultaten op {name}",
    "feed_search_for": "Zoekresultaten voor ‘{q}’ op {name}",
    "feed_theme": "{theme} op {name}",
    "feed_initiative": "{initiative} op {name}",
    "agenda_title": "Agenda van {name}",
    "add_to_calendar": "Zet in agenda (.ics)",
    "field_online": "Online",
    "online_yes": "Ja, via een videoverbinding",
    "subscribe_agenda": "Abonneer op de agenda (.ics)",
    "feeds_manage": "Feeds",
    "feeds_page_title": "Feeds van andere websites",
    "feeds_intro": "Publiceert een website of platform een RSS- of Atom-feed? Abonneer er een "
                   "initiatief op: nieuwe berichten worden dan items van dat initiatief, met een "
                   "link naar het origineel. De feed wordt regelmatig opnieuw opgehaald; een item "
                   "dat u hier bewerkt of verwijdert, verandert de feed niet meer.",
    "feeds_current": "Geabonneerde feeds",
    "feeds_none": "Nog geen feeds.",
    "feeds_add": "Feed toevoegen",
    "feed_field_url": "Adres van de feed (RSS of Atom)",
    "feed_field_as": "Namens initiatief",
    "feed_field_kind": "Soort items",
    "feed_field_theme": "Thema",
    "feed_state": "Stand",
    "feed_state_ok": "Werkt ({n} berichten gezien)",
    "feed_state_failing": "Ophalen mislukt ({n}×), wordt later opnieuw geprobeerd:",
    "feed_subscribe": "Abonneren",
    "feed_stop": "Stoppen",
    "feed_saved": "De feed is toegevoegd en wordt zo opgehaald.",
    "feed_stopped": "De feed wordt niet meer opgehaald; de items blijven.",
    # search
    "search_title": "Zoeken",
    "search_label": "Zoek in initiatieven en kennis",
    "search_site": "Zoeken op de hele site",
    "search_button": "Zoeken",
    "search_hint": "Alle woorden moeten voorkomen. Gebruik \"aanhalingstekens\" voor een "
                   "woordgroep en -woord om een woord uit te sluiten.",
    "search_filters": "Filters",
    "search_active_filters": "Gekozen filters",
    "search_results": "{total} resultaten",
    "search_any": "Niets bevatte alle woorden; dit zijn resultaten met een deel ervan.",
    "search_nothing": "Niets gevonden. Probeer minder of andere woorden.",
    "search_more": "Meer resultaten",
    "search_previous": "Vorige resultaten",
    "search_initiative": "Initiatief",
    "search_here": "van dit knooppunt",
    "search_from": "van {host}",
    "facet_type": "Soort",
    "facet_kind": "Type kennis",
    "facet_theme": "Thema",
    "facet_province": "Provincie",
    "facet_legal_form": "Rechtsvorm",
    "facet_phase": "Fase",
    "facet_status": "Status",
    "facet_origin": "Herkomst",
    "origin_local": "Dit knooppunt",
    "origin_remote": "Andere knooppunten",
    # reading pages
    "by": "door",
    "by_start": "Door",
    "on": "op",
    "about": "Over:",
    "no_items": "Nog geen items.",
    "new_in_network": "Nieuw in het netwerk",
    "initiatives": "Initiatieven",
    "no_initiatives_yet": "Er zijn nog geen initiatieven.",
    "knowledge_of": "Kennis van {name}",
    "collections": "Verzamelingen",
    "collection_of": "van",
    "total": "Totaal:",
    "nothing_here": "Hier staat nog niets.",
    "pages": "Pagina's",
    "newer": "Nieuwere",
    "prev_page": "Vorige pagina",
    "next_page": "Volgende pagina",
    "page_of": "Pagina {page} van {pages}",
    "nav_knowledge": "Kennis",
    "nav_map": "Kaart",
    "nav_statistics": "Statistiek",
    "nav_bottlenecks": "Knelpunten",
    "all_knowledge": "Alle kennis",
    "more_knowledge": "Meer kennis",
    "whole_directory": "Alle initiatieven in de gids",
    "filters": "Filteren",
    "filter_kind": "Soort",
    "filter_theme": "Thema",
    "filter_province": "Provincie",
    "filter_legal_form": "Rechtsvorm",
    "filter_phase": "Fase",
    "filter_all": "Alle",
    "filter_apply": "Toon",
    "filter_clear": "Alle filters wissen",
    "results_count": "{total} gevonden",
    "from_province": "uit",
    "via_node": "via",
    "directory_title": "Initiatieven",
    "directory_lead": "Alle initiatieven van kleine kernen die dit knooppunt kent.",
    "directory_stale": "Profiel al meer dan een jaar niet bevestigd: graag nakijken.",
    "map_title": "Kaart van initiatieven en activiteiten",
    "map_initiative": "Initiatief",
    "map_event": "Activiteit",
    "map_events": "Komende activiteiten",
    "map_list_intro": "Dezelfde plekken als lijst, voor wie liever geen kaart gebruikt.",
    "map_no_initiatives": "Geen initiatieven met een plek op de kaart.",
    "map_no_events": "Geen komende activiteiten met een plek.",
    "stats_title": "Statistiek",
    "stats_lead": "Het netwerk in cijfers: {initiatives} initiatieven en {items} kennisitems.",
    "stats_per_province": "Initiatieven per provincie",
    "stats_per_theme": "Initiatieven per thema",
    "stats_per_legal_form": "Initiatieven per rechtsvorm",
    "stats_per_phase": "Initiatieven per fase",
    "stats_growth": "Groei van het netwerk",
    "stats_growth_table": "Groei van het netwerk, als tabel",
    "stats_growth_items": "Kennisitems in totaal, per maand",
    "stats_growth_initiatives": "Initiatieven in totaal, per maand",
    "stats_value": "Waarde",
    "stats_count": "Aantal",
    "stats_month": "Maand",
    "stats_new_items": "Nieuwe items",
    "stats_new_initiatives": "Nieuwe initiatieven",
    "stats_items_total": "Items totaal",
    "stats_initiatives_total": "Initiatieven totaal",
    "stats_none": "Nog geen gegevens.",
    "theme_followers": "Volgers",
    "theme_follow_title": "Volg dit thema",
    "theme_follow_hint": "Volg vanaf Mastodon: zoek in uw eigen Mastodon-app (of een andere "
                         "ActivityPub-dienst) naar {handle} en klik op Volgen. Nieuwe kennis "
                         "over dit thema verschijnt dan in uw tijdlijn.",
    # following from the browser (node.web.following)
    "follow_title": "Volgen",
    "follow_as_label": "Volgen als",
    "follow_button": "Volgen",
    "unfollow_button": "Niet meer volgen",
    "follow_state_accepted": "{name} volgt dit",
    "follow_state_pending": "{name} heeft gevraagd dit te volgen (wacht op antwoord)",
    "follow_state_rejected": "{name} mag dit niet volgen (geweigerd)",
    "follow_none_to_act_as": "U beheert geen initiatief waarmee u kunt volgen.",
    "follow_remote_label": "Uw account in de fediverse (bijvoorbeeld naam@mastodon.social)",
    "follow_remote_hint": "U gaat naar uw eigen server om het volgen te bevestigen.",
    "follow_remote_button": "Volgen vanaf mijn server",
    "follow_remote_title": "Volgen vanaf uw eigen server",
    "follow_remote_bad_handle": "Dit is geen account in de vorm naam@server.",
    "follow_remote_lookup_failed": "Uw server kon niet gevonden worden of gaf geen antwoord. "
                                   "Controleer het adres en probeer het opnieuw.",
    "follow_remote_no_subscribe": "Uw server biedt geen pagina om op afstand te volgen. Zoek "
                                  "in uw eigen app naar {handle} en volg het daar.",
    "follow_remote_host_not_allowed": "Dit knooppunt wisselt geen berichten uit met die server.",
    "follow_page_title": "{name} volgen",
    "follow_page_intro": "Kies met welk initiatief u {name} wilt volgen.",
    "followed": "Het volgen is aangevraagd of gelukt; zie hieronder de stand.",
    "unfollowed": "U volgt dit niet meer.",
    "following_feed_title": "Wat {name} volgt",
    "following_feed_intro": "De nieuwste kennis van de initiatieven, knooppunten en thema's die "
                            "{name} volgt.",
    "following_feed_empty": "Nog niets: {name} volgt niemand, of wie het volgt heeft nog niets "
                            "gedeeld.",
    "following_feed_link": "Nieuws van wie dit initiatief volgt",
    "followers_none": "Nog geen volgers.",
    # notifications (node.web.notifications)
    "notifications_title": "Meldingen",
    "notifications_unread": "{count} nieuw",
    "notifications_empty": "Geen meldingen.",
    "notifications_mark_read": "Alles als gelezen markeren",
    "notifications_marked": "Alle meldingen zijn als gelezen gemarkeerd.",
    "notification_answer": "{actor} beantwoordde de vraag van {recipient}: {title}",
    "notification_endorsement": "{actor} loopt ook tegen het knelpunt van {recipient} aan: {title}",
    "notification_follower": "{actor} volgt nu {recipient}",
    "notification_accepted": "Het antwoord van {recipient} is gekozen als beste antwoord: {title}",
    "notification_new": "nieuw",
    "notification_view": "Bekijken",
    "notifications_nav": "Meldingen",
    "mail_settings_title": "E-mail bij meldingen",
    "mail_settings_intro": "Kies of u meldingen ook per e-mail wilt ontvangen.",
    "mail_not_configured": "Dit knooppunt verstuurt geen e-mail (er is geen mailserver ingesteld).",
    "mail_address": "E-mailadres",
    "mail_mode": "Hoe vaak",
    "mail_mode_none": "Geen e-mail",
    "mail_mode_immediate": "Direct, bij elke melding",
    "mail_mode_daily": "Eén keer per dag een overzicht",
    "mail_save": "Opslaan",
    "mail_saved": "Uw keuze is opgeslagen.",
    "mail_address_missing": "Vul een e-mailadres in om e-mail te ontvangen.",
    "mail_address_bad": "Dit is geen geldig e-mailadres.",
    "mail_settings_link": "E-mailinstellingen",
    "older": "Oudere",
    "updated": "bijgewerkt",
    "answer_to_question": "Antwoord op de vraag",
    "untitled": "zonder titel",
    "answer_to": "Antwoord op",
    "attachments": "Bijlagen",
    "answers": "Antwoorden",
    "accepted_answer": "Geaccepteerd antwoord",
    "view_alone": "Los bekijken",
    "no_answers": "Nog geen antwoorden. Weet u het antwoord? Reageer vanaf uw eigen knooppunt of "
                  "Mastodon-account.",
    "node_national": "Landelijk knooppunt",
    "node_provincial": "Provinciale vereniging",
    "label_kind": "Soort",
    "label_province": "Provincie",
    "label_legal_form": "Rechtsvorm",
    "label_phase": "Fase",
    "label_status": "Status",
    "label_founded": "Opgericht",
    "label_members": "Aantal leden",
    "label_goals": "Doelen",
    "label_reason": "Aanleiding",
    "label_open_questions": "Open vragen",
    "label_networks": "Netwerken",
    "label_partners": "Kennispartners",
    "label_website": "Website",
    "label_contact": "Contact",
    "label_last_confirmed": "Laatst bevestigd",
    "label_license": "Licentie",
    # signing in
    "sign_in_intro": "Meld u aan om kennis van uw initiatief toe te voegen of bij te werken.",
    "field_username": "Gebruikersnaam",
    "field_password": "Wachtwoord",
    "username_missing": "Vul uw gebruikersnaam in.",
    "password_missing": "Vul uw wachtwoord in.",
    "bad_credentials": "De gebruikersnaam of het wachtwoord klopt niet.",
    "too_many_attempts": "Er is te vaak een verkeerd wachtwoord ingevuld. Wacht {minutes} "
                         "minuten en probeer het dan opnieuw.",
    "already_signed_in": "U bent al aangemeld als {username}. Hieronder kunt u zich als iemand "
                         "anders aanmelden.",
    "signed_out": "U bent afgemeld.",
    # error pages
    "not_found_title": "Niet gevonden",
    "not_found": "Deze pagina bestaat niet (meer).",
    "gone_title": "Verwijderd",
    "gone": "Dit is verwijderd door de eigenaar.",
    "forbidden_title": "Geen toegang",
    "forbidden": "U mag dit niet bewerken. Vraag een beheerder van dit knooppunt om toegang. "
                 "Er is niets opgeslagen.",
    "not_local": "Dit item komt van een ander knooppunt en kan alleen daar worden bewerkt.",
    "unauthenticated_title": "Niet aangemeld",
    "unauthenticated": "U bent niet (meer) aangemeld. Meld u aan en probeer het opnieuw. "
                       "Er is niets opgeslagen.",
    "csrf_title": "Formulier verlopen",
    "csrf": "Dit formulier is verlopen of kwam niet van deze website. Er is niets opgeslagen. "
            "Ga terug, laad de pagina opnieuw en probeer het nog eens.",
    "too_large_title": "Te groot",
    "too_large": "Wat u verstuurde is te groot. Er is niets opgeslagen.",
    "bad_request_title": "Ongeldig verzoek",
    "bad_request": "Dit verzoek konden we niet lezen. Er is niets opgeslagen.",
    "error_title": "Er ging iets mis",
    "error": "Dit lukte niet. Er is niets opgeslagen.",
    "method_not_allowed_title": "Dit kan hier niet",
    "method_not_allowed": "Deze pagina kan dit verzoek niet verwerken. Er is niets opgeslagen. "
                          "Ga terug en gebruik de knoppen en formulieren op de pagina.",
    "server_error_title": "Er ging iets mis bij ons",
    "server_error": "Door een fout aan onze kant lukte dit niet. Probeer het later nog eens; "
                    "blijft het misgaan, meld het dan bij de beheerder van dit knooppunt.",
    "error_search": "Zoekt u iets? Probeer het zoekvak bovenaan de pagina.",
    # the item form
    "new_item_title": "Nieuw item",
    "new_item_intro": "Deel kennis van uw initiatief: een verhaal, een handleiding, een vraag, "
                      "een knelpunt of een bijeenkomst. Na het publiceren zien andere knooppunten het ook.",
    "edit_item_title": "Bewerken: {title}",
    "kind_fixed": "De soort en het initiatief van een item kunt u niet meer veranderen.",
    "field_kind": "Soort",
    "field_title": "Titel",
    "field_summary": "Korte samenvatting",
    "field_content": "Tekst",
    "field_bijlage": "Bijlage (bestand)",
    "hint_bijlage": "PDF, ODT, DOCX, XLSX of een afbeelding (PNG, JPEG, GIF, WebP). Afbeeldingen "
                    "krijgen een voorbeeld.",
    "reason_bijlage_unsupported_type": "Dit soort bestand kan niet als bijlage. Kies een PDF, "
                                       "ODT, DOCX, XLSX of afbeelding (PNG, JPEG, GIF, WebP).",
    "reason_bijlage_not_for_kind": "Alleen een handleiding of voorbeelddocument kan een bijlage hebben.",
    "reason_bijlage_too_large": "Het bestand is te groot: hooguit {max} MB.",
    "hint_bijlage_edit": "Een nieuwe bijlage komt bij de bijlagen die er al zijn. PDF, ODT, DOCX, "
                         "XLSX of een afbeelding (PNG, JPEG, GIF, WebP).",
    "preview_button": "Voorbeeld bekijken",
    "preview_title": "Voorbeeld",
    "preview_intro": "Zo komt de tekst op de pagina. Er is nog niets opgeslagen; een gekozen "
                     "bestand moet u bij het opslaan opnieuw kiezen.",
    "field_themes": "Thema's",
    "field_initiative": "Namens",
    "field_question_category": "Soort vraag",
    "field_start_time": "Begint",
    "field_end_time": "Eindigt",
    "field_regulation": "Regelgeving",
    "field_bottleneck_status": "Stand van zaken",
    "field_in_reply_to": "Antwoord op",
    "field_place": "Plaats",
    "field_license": "Licentie",
    "field_language": "Taal van het item",
    "hint_license": "Onder welke voorwaarden anderen dit mogen gebruiken, bijvoorbeeld CC-BY-4.0 "
                    "(naam noemen) of CC0-1.0 (vrij).",
    "hint_language": "Een taalcode: nl voor Nederlands, fy voor Fries, en voor Engels.",
    "hint_online": "Vink aan als de bijeenkomst online is in plaats van op de plaats hieronder.",
    "hint_summary": "Eén of twee zinnen; verschijnt in lijsten en bij volgers.",
    "hint_content": "U kunt Markdown gebruiken: **vet**, *schuin*, een regel die begint met - "
                    "voor een opsomming, en een lege regel voor een nieuwe alinea.",
    "hint_themes": "Kies de thema's waar dit item over gaat.",
    "hint_time": "Nederlandse tijd, bijvoorbeeld 2026-12-03 19:30.",
    "hint_regulation": "De wet of regel waar het knelpunt over gaat.",
    "only_for_kind": "Alleen bij de soort ‘{kind}’",
    "node_itself": "{name} (het knooppunt zelf)",
    "no_initiatives": "U kunt nog voor geen enkel initiatief schrijven. Vraag een beheerder van "
                      "dit knooppunt om u toegang te geven.",
    "publish": "Publiceren",
    "save": "Opslaan",
    "cancel": "Annuleren",
    "saved": "Het item is opgeslagen en gepubliceerd.",
    "edit": "Bewerken",
    "delete": "Verwijderen",
    "delete_title": "Verwijderen: {title}",
    "delete_question": "Weet u zeker dat u dit item wilt verwijderen? Het verdwijnt hier en bij "
                       "de knooppunten die het volgen. Dit kunt u niet ongedaan maken.",
    "delete_confirm": "Ja, verwijderen",
    "deleted": "Het item is verwijderd.",
    # bottlenecks: endorsements and the agenda (docs/bottlenecks.md)
    "bottleneck_agenda_title": "Knelpunten",
    "bottleneck_agenda_national_title": "Landelijke agenda: knelpunten",
    "bottleneck_agenda_lead": "Knelpunten in wet- en regelgeving waar initiatieven tegenaan lopen, de "
                   "meest gedeelde eerst: hoe meer initiatieven en provincies, hoe hoger.",
    "bottleneck_agenda_national_lead": "De knelpunten van alle provincies samen, voor de lobby: hoe meer "
                            "initiatieven en provincies ertegenaan lopen, hoe hoger.",
    "bottleneck_agenda_empty": "Nog geen knelpunten.",
    "bottleneck_agenda_back": "Naar alle knelpunten",
    "filter_regulation_area": "Regelgeving",
    "filter_bottleneck_status": "Stand van zaken",
    "tally_initiatives": "{count} initiatieven lopen hier ook tegenaan",
    "tally_from": "uit",
    "tally_support": "{count} steunbetuigingen van buiten Kennisknoop",
    "endorse_heading": "Wij lopen hier ook tegenaan",
    "endorse_link": "Wij lopen hier ook tegenaan",
    "endorse_details": "Bekijken",
    "endorse_button": "Wij lopen hier ook tegenaan",
    "endorse_sign_in": "Meld u aan om namens uw initiatief te laten weten dat u hier ook "
                       "tegenaan loopt.",
    "endorse_onderschreven": "Opgeslagen: uw initiatief loopt hier ook tegenaan.",
    "endorse_ingetrokken": "Ingetrokken.",
    "endorsed_by": "{name} loopt hier ook tegenaan.",
    "withdraw_button": "Intrekken",
    "field_as": "Namens",
    "field_note": "Toelichting (niet verplicht)",
    "hint_note": "Hoe loopt uw initiatief hier tegenaan? Gewone tekst, hoogstens 1000 tekens.",
    "field_regulation_area": "Soort regelgeving",
    "field_bottleneck_outcome": "Uitkomst",
    "hint_bottleneck_outcome": "Kort: wat is er met het knelpunt gebeurd?",
    "regulation_area_none": "Niet gekozen",
    "reason_as_unknown_initiative": "Kies een initiatief uit de lijst.",
    "reason_as_not_an_initiative": "Kies een initiatief uit de lijst.",
    "reason_regulation_area_bad_value": "Kies een soort regelgeving uit de lijst.",
    # the helpdesk: questions, answers, similar questions (node/web/questions.py)
    "nav_questions": "Vragen",
    "questions_title": "Vragen",
    "questions_lead": "Vragen van initiatieven uit het hele netwerk. Bovenaan staan de vragen "
                      "die het langst op een antwoord wachten: weet u het, help dan mee.",
    "filter_category": "Soort vraag",
    "filter_state": "Stand",
    "no_questions": "Geen vragen gevonden.",
    "question_state_open": "Nog geen antwoord",
    "question_state_has_answers": "Heeft antwoorden",
    "question_state_answered": "Beantwoord",
    "answer_count": "{count} antwoord(en)",
    "answer_form_title": "Deze vraag beantwoorden",
    "answer_field": "Uw antwoord",
    "answer_hint": "U antwoordt namens het gekozen initiatief. Het antwoord gaat ook naar de "
                   "vraagsteller en naar wie de vraag volgt. U kunt Markdown gebruiken.",
    "answer_submit": "Antwoord plaatsen",
    "answer_saved": "Uw antwoord is geplaatst en gaat naar de vraagsteller.",
    "accept_answer": "Dit antwoord accepteren",
    "accept_withdraw": "Niet meer als geaccepteerd antwoord markeren",
    "accepted_saved": "Het geaccepteerde antwoord is opgeslagen.",
    "view_at_origin": "Bekijk op het knooppunt waar dit vandaan komt",
    "question_deleted_title": "Vraag verwijderd",
    "question_deleted": "Deze vraag is verwijderd; er kan niet meer op worden geantwoord. "
                        "Er is niets opgeslagen.",
    "similar_title": "Lijkt uw vraag op een van deze?",
    "similar_intro": "Deze vragen zijn al eerder gesteld en hebben antwoorden. Staat uw antwoord "
                     "ertussen, dan hoeft u niets te plaatsen.",
    "similar_anyway": "Toch plaatsen",
    "similar_anyway_hint": "Staat uw vraag er niet bij? Plaats haar dan toch; wat u typte blijft "
                           "bewaard.",
    "similar_first_answer": "Eerste antwoord",
    # validation messages, by reason code (see REASONS below)
    "reason_missing_field": "Vul dit veld in.",
    "reason_too_long": "Dit is te lang: hoogstens {max} tekens.",
    "reason_too_long_list": "Dit zijn er te veel: hoogstens {max}.",
    "reason_html_not_allowed": "Gebruik hier gewone tekst, zonder HTML-code zoals <b>.",
    "reason_bad_date": "Vul een geldige datum en tijd in, bijvoorbeeld 2026-12-03 19:30.",
    "reason_unknown_theme": "Kies de thema's uit de lijst.",
    "reason_field_not_for_kind": "Dit veld hoort niet bij deze soort item.",
    "reason_immutable_field": "Dit kunt u niet meer veranderen.",
    "reason_unknown_field": "Dit veld kennen we niet.",
    "reason_bad_value": "Dit is geen geldige invoer.",
    "reason_bad_type": "Dit is geen geldige invoer.",
    "reason_bad_coordinates": "Dit is geen geldige plaats.",
    "reason_invalid": "Dit is geen geldige invoer.",
    "reason_kind_bad_value": "Kies een soort uit de lijst.",
    "reason_kind_missing_field": "Kies een soort.",
    "reason_title_missing_field": "Vul een titel in.",
    "reason_content_missing_field": "Schrijf de tekst van het item.",
    "reason_start_time_missing_field": "Vul in wanneer de bijeenkomst begint.",
    "reason_end_time_bad_value": "Het einde mag niet vóór het begin liggen.",
    "reason_question_category_bad_value": "Kies een soort vraag uit de lijst.",
    "reason_bottleneck_status_bad_value": "Kies een stand van zaken uit de lijst.",
    "reason_initiative_bad_value": "Kies een initiatief uit de lijst.",
    "reason_in_reply_to_question_deleted": "Deze vraag is verwijderd; er kan niet meer op "
                                           "worden geantwoord.",
    # administration (/beheer, docs/pages.md "Beheer")
    "nav_admin": "Beheer",
    "admin_title": "Beheer",
    "admin_intro": "Hier regelt u als beheerder met welke knooppunten dit knooppunt "
                   "samenwerkt en wat er met verzonden berichten gebeurt.",
    "admin_peers": "Knooppunten",
    "admin_peer_count": "{count} bekend",
    "admin_queue": "Wachtrij",
    "admin_queue_counts": "{pending} wachtend, {failed} mislukt",
    "admin_log_note": "Elke handeling op deze pagina's wordt met uw gebruikersnaam vastgelegd "
                      "in het logboek van de server.",
    "admin_settings": "Instellingen (alleen te lezen)",
    "admin_settings_note": "Deze instellingen staan in het instellingenbestand van de server; "
                           "blokkades die u hier toevoegt, gelden daarnaast.",
    "admin_mode": "Werkwijze",
    "admin_mode_open": "Open: samenwerken met elk knooppunt dat niet geblokkeerd is",
    "admin_mode_allowlist": "Alleen met de toegestane knooppunten",
    "admin_allow": "Toegestaan",
    "admin_configured_block": "Geblokkeerd in de instellingen",
    "admin_peer_list": "Bekende knooppunten",
    "admin_no_peers": "Nog geen andere knooppunten bekend.",
    "admin_host": "Knooppunt",
    "admin_status": "Stand",
    "admin_last_success": "Laatst bereikt",
    "admin_waiting": "Wachtende berichten",
    "admin_oldest": "Oudste wachtend sinds",
    "admin_action": "Handeling",
    "peer_status_ok": "Bereikbaar",
    "peer_status_failing": "Soms onbereikbaar",
    "peer_status_unavailable": "Onbereikbaar",
    "peer_status_blocked": "Geblokkeerd",
    "peer_status_unknown": "Nog niet bereikt",
    "admin_block": "Blokkeren",
    "admin_unblock": "Blokkade opheffen",
    "admin_block_other": "Een ander knooppunt blokkeren",
    "admin_block_title": "Knooppunt blokkeren",
    "admin_block_question": "Na het blokkeren wordt alles van dit knooppunt meteen verborgen "
                            "en worden er geen berichten meer mee uitgewisseld. Het wordt niet "
                            "verwijderd: na het opheffen van de blokkade is het weer te zien.",
    "admin_block_confirm": "Ja, blokkeren",
    "admin_reason_hint": "Alleen voor beheerders te zien.",
    "admin_blocked": "{value} is geblokkeerd.",
    "admin_unblocked": "De blokkade van {value} is opgeheven.",
    "admin_retried": "{value} bericht(en) staan weer in de wachtrij.",
    "admin_queue_intro": "Berichten die na herhaalde pogingen niet bezorgd konden worden. "
                         "Opnieuw proberen zet ze meteen terug in de wachtrij.",
    "admin_retry_per_peer": "Alles opnieuw proberen per knooppunt",
    "admin_retry_host": "Alles voor {host} opnieuw proberen",
    "admin_failed": "Mislukte berichten",
    "admin_no_failed": "Er zijn geen mislukte berichten.",
    "admin_inbox": "Bestemming",
    "admin_activity": "Bericht",
    "admin_attempts": "Pogingen",
    "admin_reason": "Reden",
    "admin_retry": "Opnieuw proberen",
    "admin_users": "Gebruikers",
    "admin_users_intro": "Wie kan aanmelden, met welke rol, en welke initiatieven een "
                         "redacteur mag bewerken.",
    "field_role": "Rol",
    "role_admin": "Beheerder",
    "role_editor": "Redacteur",
    "admin_change_role": "Rol wijzigen",
    "admin_grants": "Mag bewerken",
    "admin_all_initiatives": "Alle initiatieven (beheerder).",
    "admin_grant": "Toekennen",
    "admin_revoke": "Intrekken",
    "admin_delete": "Verwijderen",
    "admin_add_user": "Gebruiker toevoegen",
    "admin_password_hint": "Minstens 10 tekens. Laat leeg om een wachtwoord te laten maken; "
                           "dat ziet u één keer.",
    "admin_user_added": "Gebruiker {username} is toegevoegd.",
    "admin_password_once": "Het wachtwoord, alleen nu te zien — geef het veilig door:",
    "admin_user_changed": "Gebruiker {value} is gewijzigd.",
    "admin_user_deleted": "Gebruiker {value} is verwijderd.",
    "admin_delete_user": "Gebruiker {username} verwijderen",
    "admin_delete_user_question": "Deze gebruiker kan daarna niet meer aanmelden; wat hij of "
                                  "zij publiceerde, blijft staan.",
    "reason_username_bad_value": "Gebruik 2 tot 63 tekens: kleine letters, cijfers, _ . of -.",
    "reason_username_username_taken": "Deze gebruikersnaam bestaat al.",
    "reason_password_bad_value": "Een wachtwoord heeft minstens 10 tekens.",
    "reason_role_bad_value": "Kies een rol uit de lijst.",
    "reason_host_bad_value": "Dit is geen bruikbaar adres van een knooppunt (of het is dit "
                             "knooppunt zelf).",
    "admin_reports": "Meldingen van misbruik",
    "admin_reports_intro": "Meldingen die andere knooppunten stuurden over berichten of "
                           "accounts. Handel een melding af als u er iets mee gedaan hebt.",
    "admin_no_reports": "Er zijn geen meldingen.",
    "admin_report_from": "Van",
    "admin_report_about": "Over",
    "admin_report_received": "Ontvangen",
    "admin_report_state_open": "Open",
    "admin_report_state_resolved": "Afgehandeld",
    "admin_resolve": "Afhandelen",
    "admin_report_resolved": "Melding {value} is afgehandeld.",
    "admin_hidden": "Verborgen items",
    "admin_hidden_intro": "Items van andere knooppunten die een beheerder hier verborg. Niemand anders ziet "
                          "ze: niet in lijsten, zoeken, feeds, de kaart of de statistiek. Een nieuwe versie "
                          "van het bronknooppunt maakt een item niet weer zichtbaar; verwijdert de bron "
                          "het, dan is het weg.",
    "admin_hidden_item": "Item",
    "admin_hidden_when": "Verborgen op",
    "admin_hidden_by": "Door",
    "admin_hidden_deleted": "verwijderd bij de bron",
    "admin_no_hidden": "Er zijn geen verborgen items.",
    "admin_hide_other": "Een item verbergen",
    "admin_hidden_address_hint": "Het adres van een item van een ander knooppunt, zoals de link "
                                 "'Bekijk op het knooppunt waar dit vandaan komt' op de pagina "
                                 "van het item.",
    "field_item": "Adres van het item",
    "reason_item_missing_field": "Vul het adres van een item in.",
    "reason_item_local_item": "Dit item is van dit knooppunt zelf: bewerk of verwijder het in "
                              "plaats van het te verbergen.",
    "admin_item_hidden": "{value} is verborgen.",
    "admin_item_shown": "{value} is weer zichtbaar.",
    "hidden_hide": "Verbergen op dit knooppunt",
    "hidden_show": "Weer tonen",
    "hidden_banner": "Verborgen door {by} op {when}. Alleen beheerders zien dit item; voor anderen "
                     "bestaat het hier niet.",
    # registering with a Murmurations index (/beheer/murmurations, docs/bridges.md)
    "admin_murmurations": "Murmurations-kaarten",
    "admin_murmurations_intro": "Kaarten en overzichten in het Murmurations-netwerk tonen "
                                "initiatieven die bij de index {index} zijn aangemeld. Kies "
                                "per initiatief of dit knooppunt het aanmeldt; het profiel "
                                "wordt daarna elke dag opnieuw aangemeld, zodat wijzigingen "
                                "meekomen. Zonder uw keuze gaat er niets naar de index.",
    "admin_murmurations_off": "Er is geen Murmurations-index ingesteld "
                              "(murmurations.index_url in het instellingenbestand). Dit "
                              "knooppunt meldt daarom niets aan en stuurt niets naar een index.",
    "admin_murmurations_stop_note": "Stopt u met aanmelden, dan blijft de index het profiel "
                                    "tonen zolang het hier te lezen is; een verwijderd "
                                    "initiatief verdwijnt als de index het opnieuw leest.",
    "admin_initiative": "Initiatief",
    "admin_murmurations_profile": "Profiel",
    "admin_murmurations_state_off": "Niet aangemeld",
    "admin_murmurations_state_waiting": "Wordt aangemeld",
    "admin_murmurations_state_on": "Aangemeld",
    "admin_murmurations_state_failing": "Aanmelden lukt niet ({count}×): {error}",
    "admin_murmurations_register": "Aanmelden",
    "admin_murmurations_unregister": "Stoppen met aanmelden",
    "admin_murmurations_none": "Dit knooppunt heeft nog geen initiatieven.",
    "admin_murmurations_changed": "De keuze voor {value} is opgeslagen.",
    "requests_title": "Volgverzoeken",
    "requests_intro": "Wie dit knooppunt of een initiatief wil volgen dat volgers met de hand "
                      "goedkeurt, wacht hier op uw antwoord. Tot u accepteert, krijgt die volger "
                      "niets.",
    "requests_who": "Wie",
    "requests_wants": "Wil volgen",
    "requests_since": "Gevraagd op",
    "requests_accept": "Accepteren",
    "requests_reject": "Weigeren",
    "requests_none": "Er wachten geen volgverzoeken.",
    "requests_node_setting": "Het knooppunt zelf",
    "requests_reject_title": "Volgverzoek van {name} weigeren",
    "requests_reject_question": "{name} gaat {actor} dan niet volgen en krijgt daarvan bericht. "
                                "Later kan {name} opnieuw vragen.",
    "requests_reject_confirm": "Ja, weigeren",
    "requests_accepted": "Volgverzoek {value} is geaccepteerd.",
    "requests_rejected": "Volgverzoek {value} is geweigerd.",
    "requests_setting_on": "{value} keurt volgers nu met de hand goed.",
    "requests_setting_off": "{value} laat volgers nu meteen toe; wachtende verzoeken zijn "
                            "geaccepteerd.",
    "approval_heading": "Volgers",
    "approval_label": "Volgers met de hand goedkeuren",
    "approval_hint": "Aan: wie wil volgen, wacht tot u het verzoek accepteert en krijgt tot dan "
                     "niets. Uit: iedereen mag meteen volgen.",
    "approval_forced": "De instellingen van de server laten elk account volgers met de hand "
                       "goedkeuren.",
    "field_host": "Adres van het knooppunt",
    "field_reason": "Reden",
    "host_missing": "Vul het adres van het knooppunt in.",
    # value labels of the pages (Labels below)
    "bottleneck_status_open": "Open",
    "bottleneck_status_raised": "Aangekaart",
    "bottleneck_status_resolved": "Opgelost",
    "bottleneck_status_rejected": "Afgewezen",
    "activity_Create": "Nieuw",
    "activity_Update": "Bijgewerkt",
    "activity_Delete": "Verwijderd",
    "activity_Announce": "Gedeeld",
    "activity_Follow": "Volgverzoek",
    "activity_Accept": "Geaccepteerd",
    "activity_Reject": "Afgewezen",
    "activity_Undo": "Ingetrokken",
    "activity_Flag": "Melding",
    "collection_outbox": "Activiteiten",
    "collection_followers": "Volgers",
    "collection_following": "Volgt",
    # the language switch on every page (node.web.i18n)
    "language_switch": "Taal",
    # creating, editing and deleting an initiative (node.web.initiative_pages)
    "new_initiative": "Nieuw initiatief",
    "new_initiative_intro": "Zet uw initiatief in de gids. Alleen de korte naam en de naam zijn "
                            "verplicht; de rest kunt u later aanvullen.",
    "edit_initiative_title": "Bewerken: {name}",
    "delete_initiative_title": "Verwijderen: {name}",
    "delete_initiative_question": "Weet u zeker dat u dit initiatief wilt verwijderen? Het "
                                  "verdwijnt uit de gids, hier en bij de andere knooppunten. "
                                  "Dit kan niet ongedaan worden gemaakt.",
    "initiative_saved": "Het initiatief is opgeslagen en gepubliceerd.",
    "initiative_deleted": "Het initiatief is verwijderd.",
    "handle_fixed": "De korte naam kan niet meer veranderen.",
    "choose_none": "(niet ingevuld)",
    "place_picker": "Kaart: klik om de plaats te kiezen",
    "field_handle": "Korte naam",
    "admin_files": "Geüploade bestanden",
    "admin_files_counts": "{count} bestanden, samen {size} MB.",
    "admin_files_orphans": "Daarvan worden er {count} ({size} MB) door geen item, initiatief of "
                           "profiel gebruikt; die worden automatisch verwijderd zodra ze meer "
                           "dan {hours} uur oud zijn.",
    "field_avatar": "Afbeelding (logo)",
    "hint_avatar": "Een PNG-, JPEG-, GIF- of WebP-afbeelding van hooguit {max} MB, bijvoorbeeld "
                   "het logo. Die staat bij het initiatief op de pagina's en op Mastodon.",
    "avatar_current": "Deze afbeelding staat nu bij het initiatief:",
    "avatar_pending": "Deze afbeelding komt bij het initiatief zodra u opslaat:",
    "avatar_remove": "Afbeelding weghalen",
    "avatar_alt": "Logo van {name}",
    "avatar_chosen_alt": "De gekozen afbeelding",
    "reason_avatar_not_an_image": "Dit bestand is geen afbeelding die hier kan. Kies een PNG, "
                                  "JPEG, GIF of WebP (geen SVG).",
    "reason_avatar_too_large": "De afbeelding is te groot: hooguit {max} MB.",
    "reason_avatar_unknown_attachment": "Deze afbeelding staat niet (meer) op dit knooppunt. "
                                        "Kies haar opnieuw.",
    "field_name": "Naam",
    "field_description": "Beschrijving",
    "field_legal_form": "Rechtsvorm",
    "field_phase": "Fase",
    "field_status": "Status",
    "field_founded": "Opgericht op",
    "field_website": "Website",
    "field_contact": "Contact",
    "field_goals": "Doelen",
    "field_reason_for_starting": "Aanleiding",
    "field_open_questions": "Open vragen",
    "field_networks": "Netwerken",
    "field_partners": "Kennispartners",
    "field_members_count": "Aantal leden",
    "field_last_confirmed": "Gegevens laatst bevestigd op",
    "field_place_name": "Dorp of plaats",
    "field_latitude": "Breedtegraad",
    "field_longitude": "Lengtegraad",
    "field_province_code": "Provincie",
    "field_exact": "Precieze plek tonen",
    "hint_handle": "Kleine letters, cijfers en streepjes, 3 tot 40 tekens. Het initiatief "
                   "wordt dan naam@{host}. Dit kan later niet meer veranderen.",
    "hint_initiative_summary": "Eén of twee zinnen: wat doet het initiatief?",
    "hint_date": "Bijvoorbeeld 2019-03-21.",
    "hint_place": "Typ de naam van het dorp, of kies een plek op de kaart, of vul de "
                  "coördinaten in.",
    "hint_place_name": "Kent dit knooppunt het dorp al, dan vult het zelf de plek op de kaart "
                       "in.",
    "hint_latitude": "Bijvoorbeeld 53,07 (noord).",
    "hint_longitude": "Bijvoorbeeld 5,86 (oost).",
    "hint_exact": "Anders wordt de plek afgerond op ongeveer een kilometer.",
    "hint_website": "Het volledige adres, bijvoorbeeld https://www.voorbeeld.nl.",
    "hint_contact": "Een e-mailadres of telefoonnummer dat iedereen mag zien.",
    "hint_one_per_line": "Eén per regel.",
    "hint_members_count": "Alleen cijfers.",
    "hint_last_confirmed": "Wanneer iemand van het initiatief deze gegevens voor het laatst "
                           "heeft nagekeken.",
    "reason_handle_bad_value": "Gebruik 3 tot 40 kleine letters, cijfers of streepjes, niet "
                               "beginnend of eindigend met een streepje.",
    "reason_handle_missing_field": "Vul een korte naam in.",
    "reason_handle_taken": "Deze korte naam is al in gebruik. Kies een andere.",
    "reason_name_missing_field": "Vul de naam van het initiatief in.",
    "reason_founded_bad_date": "Vul een geldige datum in, niet in de toekomst, bijvoorbeeld "
                               "2019-03-21.",
    "reason_last_confirmed_bad_date": "Vul een geldige datum in, niet in de toekomst.",
    "reason_website_bad_value": "Vul een volledig webadres in, beginnend met https://.",
    "reason_members_count_bad_type": "Vul een aantal in, alleen cijfers.",
    "reason_members_count_bad_value": "Vul een aantal in, alleen cijfers.",
    "reason_latitude_bad_coordinates": "Vul een breedtegraad tussen -90 en 90 in, en ook de "
                                       "lengtegraad.",
    "reason_longitude_bad_coordinates": "Vul een lengtegraad tussen -180 en 180 in, en ook de "
                                        "breedtegraad.",
}


class Labels(Mapping[str, str]):
    """Labels of a fixed set of values (``NL["<prefix><value>"]``), in the current language."""

    def __init__(self, prefix: str, values: tuple[str, ...]) -> None:
        self._prefix = prefix
        self._values = values

    def __getitem__(self, value: str) -> str:
        if value not in self._values:
            raise KeyError(value)
        return text(self._prefix + value)

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


BOTTLENECK_STATUSES = Labels("bottleneck_status_", ("open", "raised", "resolved", "rejected"))
ACTIVITY_TYPES = Labels("activity_", ("Create", "Update", "Delete", "Announce", "Follow",
                                      "Accept", "Reject", "Undo", "Flag"))
COLLECTION_TITLES = Labels("collection_", ("outbox", "followers", "following"))

_AT_MOST = re.compile(r"at most (\d+) (characters|entries)")


def text(key: str, **values: object) -> str:
    """The sentence under ``key`` in the current language, with ``values`` filled in."""
    sentence = translate(key, NL[key])
    return sentence.format(**values) if values else sentence


def lookup(key: str, default: str) -> str:
    """``text(key)`` if there is such a sentence, else ``default``."""
    return text(key) if key in NL else default


class Texts:
    """``t`` in the templates: ``t.key``, ``t["key"]`` and ``t.get(key, default)`` give the
    sentence in the current language; an unknown key is an error, like a missing dict key."""

    def __getattr__(self, key: str) -> str:
        if key.startswith("_") or key not in NL:
            raise AttributeError(key)
        return text(key)

    def __getitem__(self, key: str) -> str:
        if key not in NL:
            raise KeyError(key)
        return text(key)

    def __contains__(self, key: object) -> bool:
        return key in NL

    def get(self, key: str, default: str | None = None) -> str | None:
        return text(key) if key in NL else default


def field_label(field: str) -> str:
    return lookup(f"field_{field}", field)


def validation_message(field: str, reason: str, detail: str) -> str:
    """A sentence for a validation failure of ``field`` (reason codes of validation.py)."""
    specific = f"reason_{field}_{reason}"
    if specific in NL:
        return text(specific)
    if reason == "too_long":
        match = _AT_MOST.search(detail)
        if match:
            key = "reason_too_long" if match[2] == "characters" else "reason_too_long_list"
            return text(key, max=match[1])
    return lookup(f"reason_{reason}", text("reason_invalid"))
