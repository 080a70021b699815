// What the page says, in French: dates in the venue's time, amounts, and a sentence for each
// answer of the counter.

const DAY = { weekday: "long", day: "numeric", month: "long", year: "numeric" };
const HOUR = { hour: "2-digit", minute: "2-digit" };
const EUROS = new Intl.NumberFormat("fr-FR", { style: "currency", currency: "EUR" });

/** "samedi 16 janvier 2027 à 20:30": an instant in a timezone. */
export function when(instant, timeZone) {
  const date = new Date(instant);
  const day = new Intl.DateTimeFormat("fr-FR", { ...DAY, timeZone }).format(date);
  const hour = new Intl.DateTimeFormat("fr-FR", { ...HOUR, timeZone }).format(date);
  return `${day} à ${hour}`;
}

/** The same for an RFC 3339 time already in the venue's time (`used_at`, `validatable_from`
 * of the counter's errors): its wall clock, whatever the browser's timezone. */
export function wallClock(local) {
  const parts = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local || "");
  if (!parts) return local;
  const [year, month, day, hour, minute] = parts.slice(1).map(Number);
  return when(Date.UTC(year, month - 1, day, hour, minute), "UTC");
}

/** The local calendar day (YYYY-MM-DD) of an instant in a timezone. */
export function localDay(instant, timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone }).format(new Date(instant));
}

export const euros = (cents) => EUROS.format(cents / 100);

export function places(quantity) {
  return quantity === 2 ? "2 (duo)" : "1";
}

export function price(booking) {
  const total = euros(booking.total_cents);
  return booking.quantity === 2 ? `${total} (2 × ${euros(booking.amount_cents)})` : total;
}

export const NOT_FOUND =
  "Contremarque inconnue : aucune réservation de vos lieux ne correspond à ce code.";
export const TYPED_OFFLINE =
  "Hors ligne, une contremarque saisie ne peut pas être vérifiée : scannez (ou collez) le QR " +
  "code du billet, ou attendez le retour du réseau.";
export const FORGED =
  "Billet refusé : sa signature n'est pas valide (billet modifié ou contrefait).";
export const SESSION_EXPIRED = "Votre session a expiré : reconnectez-vous.";

/** A counter's (or sign-in's) refusal as a sentence. */
export function sentence(problem) {
  const body = problem.body || {};
  switch (problem.code) {
    case "COUNTERMARK_NOT_FOUND":
      return NOT_FOUND;
    case "BOOKING_NOT_YET_VALIDATABLE":
      return (
        "Pas encore validable : le jeune peut encore annuler sa réservation. Validable à partir " +
        `du ${wallClock(body.validatable_from)}.`
      );
    case "BOOKING_ALREADY_USED":
      return body.used_at
        ? `Contremarque déjà validée le ${wallClock(body.used_at)}.`
        : "Contremarque déjà validée.";
    case "BOOKING_CANCELLED":
      return "Réservation annulée : cette contremarque n'est plus valable.";
    case "BOOKING_REIMBURSED":
      return "Réservation déjà remboursée au lieu : elle ne peut plus être modifiée.";
    case "BOOKING_NOT_CONFIRMED":
      return "Réservation pas encore confirmée : réessayez dans un instant.";
    case "BOOKING_NOT_USED":
      return "Cette contremarque n'est pas validée : il n'y a pas de validation à annuler.";
    case "TOO_MANY_ATTEMPTS":
      return (
        "Trop de contremarques erronées : patientez " +
        `${problem.retryAfter || 60} s avant de réessayer.`
      );
    case "INVALID_VALIDATED_AT":
      return "Date de validation hors ligne refusée (dans le futur, ou avant la réservation).";
    case "INVALID_CREDENTIALS":
      return "Adresse e-mail ou mot de passe incorrect.";
    case "UNAUTHENTICATED":
    case "INVALID_TOKEN":
      return SESSION_EXPIRED;
    case "FORBIDDEN":
      return "Ce compte n'a pas accès au guichet (compte professionnel requis).";
    default:
      return `Erreur inattendue (${problem.code}) : réessayez.`;
  }
}
