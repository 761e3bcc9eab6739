//! What the simulated audience says, in Dutch and English: questions, praise, complaints,
//! spam, links, emoji. Each kind is what one of the demo's rules (or none) reacts to.

use crate::engagement::compare::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said {
    /// Answered by the price rule (only on product videos).
    Price,
    /// A comment asking for the link: answered with a private reply on Instagram.
    Link,
    Praise,
    /// Waits for a person: the complaint rule suggests an answer.
    Complaint,
    /// Hidden by the spam rule.
    Spam,
    Chat,
}

const PRICE: &[&str] = &[
    "Wat kost deze?",
    "Hoeveel kost dit? 😍",
    "What's the price of this one?",
    "How much is it in Belgium?",
    "Prijs? Ik wil er twee",
    "price pls 🙏",
];
const LINK: &[&str] = &[
    "link please!",
    "Mag ik de link?",
    "Where can I buy this? link?",
    "Stuur je me de link 🔗",
];
const PRAISE: &[&str] = &[
    "Love this!! 😍",
    "Wat mooi gemaakt 👏",
    "This is so good",
    "Prachtig, echt top",
    "🔥🔥🔥",
    "Best video this week",
    "Geweldig idee, ga ik proberen",
];
const COMPLAINT: &[&str] = &[
    "Mijn bestelling is nog steeds niet binnen 😡",
    "Arrived broken, very disappointed",
    "Teleurgesteld, de kleur klopt niet",
    "Still waiting for my refund…",
];
const SPAM: &[&str] = &[
    "Earn $500 a day from home!! check my profile https://spam.example/win",
    "follow4follow?? 💯 https://bit.example/f4f",
    "Crypto giveaway 🚀 https://coins.example",
];
const CHAT: &[&str] = &[
    "@anna kijk dit 😂",
    "Haha same",
    "Is this the new collection?",
    "Wie heeft deze al?",
    "First 🙌",
    "Dit moet ik hebben",
    "Welke maat draag jij?",
];

/// A kind of comment: product videos draw price questions and links, the others do not.
pub fn draw(rng: &mut Rng, product: bool) -> Said {
    let x = rng.unit();
    match (product, x) {
        (true, x) if x < 0.22 => Said::Price,
        (true, x) if x < 0.32 => Said::Link,
        (_, x) if x < 0.55 => Said::Praise,
        (_, x) if x < 0.63 => Said::Complaint,
        (_, x) if x < 0.68 => Said::Spam,
        _ => Said::Chat,
    }
}

pub fn text(rng: &mut Rng, said: Said) -> &'static str {
    let pool = match said {
        Said::Price => PRICE,
        Said::Link => LINK,
        Said::Praise => PRAISE,
        Said::Complaint => COMPLAINT,
        Said::Spam => SPAM,
        Said::Chat => CHAT,
    };
    pool[(rng.draw() % pool.len() as u64) as usize]
}

/// A DM someone sends an Instagram account.
pub fn dm(rng: &mut Rng) -> &'static str {
    const DMS: &[&str] = &[
        "Hoi! Verzenden jullie ook naar België?",
        "Hi, is the blue one back in stock?",
        "Kan ik mijn bestelling nog wijzigen?",
        "Do you do collaborations? 🙂",
    ];
    DMS[(rng.draw() % DMS.len() as u64) as usize]
}

const FIRST: &[&str] = &[
    "anna", "lotte", "sam", "noah", "emma", "daan", "julia", "finn", "mila", "liam", "sara",
    "milan", "zoe", "lucas", "nina", "ruben",
];

/// A follower's handle, stable for `n`.
pub fn handle(n: u64) -> String {
    format!("{}_{}", FIRST[(n % FIRST.len() as u64) as usize], 100 + n)
}

/// Follower `n` as every platform names them: their handle and first name, or, for one in
/// seven, nothing of their own (the platforms then show default names such as "User 93").
pub fn person(n: u64) -> crate::simulate::Person {
    let chose = n % 7 != 3;
    let first = FIRST[(n % FIRST.len() as u64) as usize];
    let mut name = first.to_owned();
    if let Some(c) = name.get_mut(..1) {
        c.make_ascii_uppercase();
    }
    crate::simulate::Person {
        id: n.to_string(),
        username: chose.then(|| handle(n)),
        name: chose.then_some(name),
    }
}
