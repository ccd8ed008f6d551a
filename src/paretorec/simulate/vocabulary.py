"""The words a generated shop is made of: a three-level category tree, attribute words and
brand-name syllables.

Each leaf category has a display name (used in the `>`-separated path) and the noun a
title or a query uses ("Cordless Drills" / "drill"). Each top-level category has a typical
price (the median of its log-normal price distribution), a typical margin rate, and two
kinds of attribute words: descriptors ("cordless", "compact") and specifications ("18V").
A title reads "<brand> <descriptor> <noun> <spec> <descriptor>", e.g.
"Voltrix cordless drill 18V compact", so a text encoder has real words to read.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Department:
    """A top-level category with its sub-tree and its words."""

    name: str
    median_price: float
    margin: float
    descriptors: tuple[str, ...]
    specs: tuple[str, ...]
    children: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (mid, ((leaf, noun), ...))


# fmt: off
DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "Electronics", 120.0, 0.14,
        ("wireless", "portable", "smart", "compact", "waterproof", "noise-cancelling",
         "ultra-slim", "bluetooth", "rechargeable", "black", "silver", "refurbished"),
        ("4K", "1080p", "64GB", "128GB", "256GB", "USB-C", "5000mAh", "20W", "dual-band"),
        (
            ("Audio", (("Headphones", "headphones"), ("Bluetooth Speakers", "speaker"),
                       ("Earbuds", "earbuds"), ("Soundbars", "soundbar"))),
            ("Computers", (("Laptops", "laptop"), ("Monitors", "monitor"),
                           ("Keyboards", "keyboard"), ("Mice", "mouse"))),
            ("Phones & Accessories", (("Smartphones", "smartphone"), ("Phone Cases", "phone case"),
                                      ("Chargers", "charger"), ("Power Banks", "power bank"))),
        ),
    ),
    Department(
        "Home & Kitchen", 35.0, 0.32,
        ("stainless", "non-stick", "ceramic", "glass", "dishwasher-safe", "cast-iron",
         "bamboo", "programmable", "insulated", "white", "grey", "modern"),
        ("1.7L", "2-slice", "12-cup", "set of 4", "set of 6", "6-quart", "1200W", "30 cm"),
        (
            ("Cookware", (("Frying Pans", "frying pan"), ("Saucepans", "saucepan"),
                          ("Dutch Ovens", "dutch oven"))),
            ("Small Appliances", (("Kettles", "kettle"), ("Toasters", "toaster"),
                                  ("Coffee Makers", "coffee maker"), ("Blenders", "blender"))),
            ("Bedding", (("Duvet Covers", "duvet cover"), ("Pillows", "pillow"),
                         ("Bed Sheets", "sheet set"))),
        ),
    ),
    Department(
        "Tools & Home Improvement", 55.0, 0.28,
        ("cordless", "brushless", "heavy-duty", "compact", "magnetic", "adjustable",
         "professional", "lightweight", "ergonomic", "yellow", "orange"),
        ("18V", "20V", "12V", "2Ah", "4Ah", "1/2-inch", "10-piece", "25 ft", "750W"),
        (
            ("Power Tools", (("Drills", "drill"), ("Impact Drivers", "impact driver"),
                             ("Circular Saws", "circular saw"), ("Sanders", "sander"))),
            ("Hand Tools", (("Screwdriver Sets", "screwdriver set"), ("Hammers", "hammer"),
                            ("Wrenches", "wrench"), ("Tape Measures", "tape measure"))),
            ("Lighting", (("LED Bulbs", "LED bulb"), ("Work Lights", "work light"),
                          ("Ceiling Lights", "ceiling light"))),
        ),
    ),
    Department(
        "Sports & Outdoors", 40.0, 0.35,
        ("lightweight", "breathable", "waterproof", "foldable", "insulated", "non-slip",
         "ultralight", "reflective", "durable", "blue", "green", "red"),
        ("20L", "35L", "2-person", "4-person", "6mm", "size M", "size L", "700ml", "15 kg"),
        (
            ("Camping", (("Tents", "tent"), ("Sleeping Bags", "sleeping bag"),
                         ("Backpacks", "backpack"), ("Camping Stoves", "camping stove"))),
            ("Fitness", (("Yoga Mats", "yoga mat"), ("Dumbbells", "dumbbell"),
                         ("Resistance Bands", "resistance band"))),
            ("Cycling", (("Bike Helmets", "bike helmet"), ("Bike Lights", "bike light"),
                         ("Water Bottles", "water bottle"))),
        ),
    ),
    Department(
        "Clothing", 30.0, 0.45,
        ("cotton", "slim-fit", "oversized", "organic", "merino", "hooded", "quilted",
         "stretch", "vintage", "black", "navy", "white", "beige"),
        ("size S", "size M", "size L", "size XL", "2-pack", "3-pack", "regular fit", "long"),
        (
            ("Women's Clothing", (("Dresses", "dress"), ("Blouses", "blouse"),
                                  ("Cardigans", "cardigan"))),
            ("Men's Clothing", (("T-Shirts", "t-shirt"), ("Jeans", "jeans"),
                                ("Hoodies", "hoodie"), ("Jackets", "jacket"))),
            ("Shoes", (("Sneakers", "sneakers"), ("Boots", "boots"), ("Sandals", "sandals"))),
        ),
    ),
    Department(
        "Beauty & Personal Care", 16.0, 0.5,
        ("hydrating", "fragrance-free", "vegan", "gentle", "organic", "matte", "long-lasting",
         "sensitive", "refreshing", "natural"),
        ("50 ml", "100 ml", "250 ml", "SPF 30", "SPF 50", "travel size", "pack of 3", "1 oz"),
        (
            ("Skin Care", (("Moisturizers", "moisturizer"), ("Cleansers", "cleanser"),
                           ("Sunscreens", "sunscreen"), ("Serums", "serum"))),
            ("Hair Care", (("Shampoos", "shampoo"), ("Conditioners", "conditioner"),
                           ("Hair Dryers", "hair dryer"))),
            ("Makeup", (("Lipsticks", "lipstick"), ("Mascaras", "mascara"),
                        ("Foundations", "foundation"))),
        ),
    ),
    Department(
        "Toys & Games", 22.0, 0.38,
        ("educational", "wooden", "colorful", "interactive", "classic", "magnetic",
         "glow-in-the-dark", "collectible", "family"),
        ("ages 3+", "ages 8+", "1000-piece", "500-piece", "2-4 players", "set of 12", "30 cm"),
        (
            ("Puzzles & Games", (("Jigsaw Puzzles", "jigsaw puzzle"), ("Board Games", "board game"),
                                 ("Card Games", "card game"))),
            ("Building Toys", (("Building Blocks", "building blocks"),
                               ("Marble Runs", "marble run"), ("Model Kits", "model kit"))),
            ("Outdoor Play", (("Kites", "kite"), ("Scooters", "scooter"),
                              ("Water Guns", "water gun"))),
        ),
    ),
    Department(
        "Garden", 38.0, 0.33,
        ("solar", "weatherproof", "galvanized", "expandable", "cordless", "rust-resistant",
         "foldable", "green", "terracotta", "self-watering"),
        ("50 ft", "100 ft", "40V", "set of 3", "10 L", "30 cm", "60 cm", "5 kg"),
        (
            ("Watering", (("Garden Hoses", "garden hose"), ("Sprinklers", "sprinkler"),
                          ("Watering Cans", "watering can"))),
            ("Lawn Care", (("Lawn Mowers", "lawn mower"), ("Hedge Trimmers", "hedge trimmer"),
                           ("Leaf Blowers", "leaf blower"))),
            ("Planters & Decor", (("Planters", "planter"), ("Garden Lights", "garden light"),
                                  ("Bird Feeders", "bird feeder"))),
        ),
    ),
    Department(
        "Office Supplies", 14.0, 0.42,
        ("ergonomic", "refillable", "recycled", "spiral-bound", "adjustable", "erasable",
         "heavy-duty", "assorted", "blue", "black"),
        ("A4", "A5", "pack of 10", "pack of 50", "0.5 mm", "80 gsm", "200 sheets", "12-pack"),
        (
            ("Writing", (("Ballpoint Pens", "ballpoint pen"), ("Pencils", "pencil"),
                         ("Highlighters", "highlighter"))),
            ("Paper", (("Notebooks", "notebook"), ("Sticky Notes", "sticky notes"),
                       ("Printer Paper", "printer paper"))),
            ("Desk", (("Desk Organizers", "desk organizer"), ("Staplers", "stapler"),
                      ("Desk Lamps", "desk lamp"))),
        ),
    ),
    Department(
        "Pet Supplies", 20.0, 0.4,
        ("grain-free", "orthopedic", "washable", "chew-proof", "natural", "adjustable",
         "reflective", "calming", "durable"),
        ("size S", "size M", "size L", "2 kg", "7 kg", "pack of 12", "60 cm", "100 count"),
        (
            ("Dogs", (("Dog Food", "dog food"), ("Dog Beds", "dog bed"), ("Dog Leashes", "leash"),
                      ("Dog Toys", "dog toy"))),
            ("Cats", (("Cat Litter", "cat litter"), ("Cat Trees", "cat tree"),
                      ("Cat Food", "cat food"))),
            ("Fish & Birds", (("Aquarium Filters", "aquarium filter"), ("Bird Seed", "bird seed"),
                              ("Fish Food", "fish food"))),
        ),
    ),
)

# Brand names are drawn from the product of these syllables ("Vol" + "trix" -> "Voltrix"),
# optionally with a suffix, which gives several thousand distinct, pronounceable names.
BRAND_ONSETS: tuple[str, ...] = (
    "Vol", "Ar", "Zen", "Nor", "Kel", "Bri", "Tor", "Lum", "Cas", "Dyn", "El", "Fen", "Gal",
    "Hal", "Iso", "Jun", "Kor", "Lex", "Mar", "Nex", "Or", "Pol", "Quan", "Ros", "Sol", "Tav",
    "Ul", "Ver", "Wes", "Xan", "Yor", "Zel", "Ast", "Bel", "Cor", "Dal", "Eco", "Fal", "Gro",
    "Hex",
)
BRAND_ENDINGS: tuple[str, ...] = (
    "trix", "ora", "ex", "on", "ana", "ix", "ando", "ica", "us", "ia", "io", "vo", "lux",
    "mark", "wood", "field", "stone", "line", "craft", "tek", "well", "by", "ford", "nova",
    "ly", "mo", "ra", "sen", "tos", "za",
)
BRAND_SUFFIXES: tuple[str, ...] = ("", "", "", " Pro", " Home", " Labs", " & Co")
# fmt: on

DESCRIPTION_SENTENCES: tuple[str, ...] = (
    "Built for everyday use.",
    "A customer favourite.",
    "Easy to clean and store.",
    "Backed by a two-year warranty.",
    "Designed for comfort and durability.",
    "Great value for the price.",
    "Ships in recyclable packaging.",
    "Ideal as a gift.",
)
