"""Word lists the synthetic population draws from: names, places, visits, drugs and messages."""

FEMALE_GIVEN = (
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra Margaret "
    "Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Dorothy Rebecca Sharon Laura "
    "Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela Nicole Samantha Katherine Christine Helen "
    "Debra Rachel Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria Ruth Virginia Lauren "
    "Kelly Christina Joan Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline Martha Madison Teresa Gloria "
    "Sara Janice Ann Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia Grace Amber Denise Danielle "
    "Marilyn Beverly Charlotte Natalie Theresa Diana Brittany Doris Kayla Alexis Lori Ximena Aaliyah Mei Priya "
    "Fatima Guadalupe Siobhan Zoë Renée"
).split()

MALE_GIVEN = (
    "James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel Matthew Anthony "
    "Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian George Timothy Ronald Jason Edward Jeffrey Ryan "
    "Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel Gregory Alexander "
    "Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary Douglas Peter Kyle "
    "Noah Ethan Jeremy Walter Christian Keith Roger Terry Austin Sean Gerald Carl Harold Dylan Arthur Lawrence "
    "Jordan Jesse Bryan Billy Bruce Gabriel Joe Logan Alan Juan Albert Willie Elijah Wayne Randy Vincent Mason "
    "Roy Ralph Bobby Russell Bradley Philip Eugene Wei Arjun Mohammed Tariq Santiago Liam Oisín José"
).split()

FAMILY = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall "
    "Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes "
    "Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard "
    "Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price "
    "Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell "
    "Coleman Butler Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton "
    "Graham Reynolds Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar "
    "Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells "
    "Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez "
    "Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone "
    "Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan "
    "Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen O'Brien O'Connor McAllister "
    "García-López Smith-Jones St.John Nuñez Müller Van der Berg Okafor Abdullah Yamamoto Kowalski"
).split()

PREFERRED = {"Elizabeth": "Liz", "Robert": "Bob", "William": "Bill", "Margaret": "Peggy", "Katherine": "Kate"}

STREETS = (
    "Oak Maple Cedar Pine Elm Washington Lake Hill Park Main Church Spring River Sunset Highland Meadow "
    "Forest Willow Chestnut Walnut Lincoln Jefferson Franklin Madison Jackson Ridge Valley Mill Center"
).split()
STREET_KINDS = ("St", "Ave", "Rd", "Ln", "Dr", "Ct", "Blvd", "Way")
CITIES = (
    ("Springfield", "MO", "658"),
    ("Riverside", "CA", "925"),
    ("Franklin", "TN", "370"),
    ("Greenville", "SC", "296"),
    ("Madison", "WI", "537"),
    ("Salem", "OR", "973"),
    ("Fairview", "PA", "165"),
    ("Kansas City", "MO", "641"),
    ("Columbus", "OH", "432"),
    ("Portland", "ME", "041"),
)
AREA_CODES = ("816", "913", "314", "417", "573", "660", "636", "785", "402", "319", "515", "608", "414", "612")

SPECIALTIES = (
    ("Family Medicine", "Dr."),
    ("Internal Medicine", "Dr."),
    ("Cardiology", "Dr."),
    ("Endocrinology", "Dr."),
    ("Pediatrics", "Dr."),
    ("Dermatology", "Dr."),
    ("Orthopedics", "Dr."),
    ("Obstetrics and Gynecology", "Dr."),
    ("Nurse Practitioner", "NP"),
    ("Physician Assistant", "PA"),
)

CLINICS = (
    "Main Campus Family Clinic",
    "Northside Primary Care",
    "Riverside Heart Center",
    "Lakeview Pediatrics",
    "Downtown Specialty Pavilion",
    "Westfield Medical Office Building",
    "Eastgate Women's Health",
    "Hillcrest Orthopedic Institute",
)

VISITS = (
    ("Annual physical", "General Practice"),
    ("Follow-up visit", "General Practice"),
    ("Diabetes check", "Endocrinology"),
    ("Blood pressure follow-up", "Cardiology"),
    ("Skin check", "Dermatology"),
    ("Knee pain evaluation", "Orthopedics"),
    ("Well child visit", "Pediatrics"),
    ("Telehealth follow-up", "General Practice"),
    ("Lab work", "Pathology"),
    ("Flu shot", "General Practice"),
)

# (RxNorm code, display, form, sig)
DRUGS = (
    ("314076", "lisinopril 10 MG Oral Tablet", "tablet", "Take 1 tablet by mouth once daily"),
    ("860975", "metformin hydrochloride 500 MG Oral Tablet", "tablet", "Take 1 tablet by mouth twice daily with meals"),
    ("617314", "atorvastatin 10 MG Oral Tablet", "tablet", "Take 1 tablet by mouth at bedtime"),
    ("197361", "amlodipine 5 MG Oral Tablet", "tablet", "Take 1 tablet by mouth once daily"),
    ("966222", "levothyroxine sodium 0.05 MG Oral Tablet", "tablet", "Take 1 tablet by mouth every morning"),
    ("310965", "ibuprofen 200 MG Oral Tablet", "tablet", "Take 1 to 2 tablets by mouth every 6 hours as needed"),
    ("198211", "simvastatin 40 MG Oral Tablet", "tablet", "Take 1 tablet by mouth every evening"),
    ("311989", "nitrofurantoin 100 MG Oral Capsule", "capsule", "Take 1 capsule by mouth twice daily for 7 days"),
    ("308136", "amlodipine 2.5 MG Oral Tablet", "tablet", "Take 1 tablet by mouth once daily"),
    ("200031", "carvedilol 6.25 MG Oral Tablet", "tablet", "Take 1 tablet by mouth twice daily"),
    ("310798", "hydrochlorothiazide 25 MG Oral Tablet", "tablet", "Take 1 tablet by mouth every morning"),
    ("312961", "simvastatin 20 MG Oral Tablet", "tablet", "Take 1 tablet by mouth every evening"),
    ("197884", "lisinopril 40 MG Oral Tablet", "tablet", "Take 1 tablet by mouth once daily"),
    ("248642", "omeprazole 20 MG Delayed Release Oral Capsule", "capsule", "Take 1 capsule by mouth before breakfast"),
    ("312617", "prednisone 5 MG Oral Tablet", "tablet", "Take as directed, tapering over 10 days"),
    ("895994", "fluticasone propionate 0.05 MG/ACTUAT Nasal Spray", "spray", "Use 2 sprays in each nostril daily"),
    ("745679", "albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "inhaler", "Inhale 2 puffs every 4 hours as needed"),
    ("313782", "acetaminophen 325 MG Oral Tablet", "tablet", "Take 2 tablets by mouth every 6 hours as needed"),
    ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet", "tablet", "Take 1 tablet by mouth every 6 hours as needed"),
    ("349094", "sertraline 50 MG Oral Tablet", "tablet", "Take 1 tablet by mouth once daily"),
    ("855332", "warfarin sodium 5 MG Oral Tablet", "tablet", "Take as directed by the anticoagulation clinic"),
    ("1361048", "glipizide 5 MG Oral Tablet", "tablet", "Take 1 tablet by mouth before breakfast"),
)

MESSAGES = (
    ("Lab results available", "Your recent lab results are available. Everything looks within normal range."),
    ("Appointment reminder", "This is a reminder about your upcoming appointment. Please arrive 15 minutes early."),
    ("Prescription renewed", "Your prescription renewal has been sent to your pharmacy."),
    ("Question about medication", "I have been feeling dizzy since starting the new medication. Is that normal?"),
    ("Referral update", "Your referral has been approved. The specialist office will call you to schedule."),
    ("Billing question", "Please contact the billing office about your recent statement."),
    ("Follow-up instructions", "Please continue the current dose and check your blood pressure twice a week."),
)
